"""Sample data: reproducible, and the corrupted variants break exactly the rows they claim."""

from mlstack.datasets.samples import breast_cancer_rows, clinical_notes_rows, sample_files
from mlstack.schema import load_schema


def test_clinical_notes_are_reproducible_from_the_seed():
    assert clinical_notes_rows(50) == clinical_notes_rows(50)
    assert clinical_notes_rows(50, seed=1) != clinical_notes_rows(50)


def test_clean_samples_validate_against_their_schemas():
    for name, rows in (("breast_cancer", breast_cancer_rows()), ("clinical_notes", clinical_notes_rows())):
        schema = load_schema(name)
        for row in rows:
            schema.validate_record(row)


def test_every_dataset_has_a_clean_and_a_corrupted_file():
    for files in sample_files().values():
        assert [bool(sample.bad_rows) for sample in files] == [False, True]
