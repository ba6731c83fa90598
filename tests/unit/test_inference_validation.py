"""Bulk request validation: the fast path accepts exactly what the exact validator accepts."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from lambdas.inference.validation import InstanceValidator, RequestError
from pipelines.recipes import get_recipe

SIGNATURE = get_recipe("tabular").signature(("benign", "malignant"))


@pytest.fixture(scope="module")
def validator():
    return InstanceValidator(SIGNATURE, max_instances=100)


def _instance(first: float = 10.0) -> dict[str, float]:
    """A valid instance (bounds midpoints) whose first feature is `first`."""
    return {**SIGNATURE.example_instance(), SIGNATURE.features[0]: first}


def test_a_valid_batch_becomes_a_float32_matrix_in_signature_order(validator):
    instances = [dict(reversed(list(_instance(float(i)).items()))) for i in range(1, 4)]
    _, matrix = validator.parse(orjson.dumps({"instances": instances}))
    assert matrix.dtype == np.float32
    assert matrix.shape == (3, len(SIGNATURE.features))
    assert matrix[:, 0].tolist() == [1.0, 2.0, 3.0]


def test_fast_and_exact_paths_agree_on_a_valid_batch(validator):
    body = orjson.dumps({"instances": [_instance(5.5), _instance(7)]})
    _, fast = validator.parse(body)
    exact = np.asarray([validator._exact_row(i, inst) for i, inst in enumerate(orjson.loads(body)["instances"])],
                       dtype=np.float64).astype(np.float32)
    assert np.array_equal(fast, exact)


def test_a_key_that_merely_contains_a_literal_still_validates_exactly(validator):
    body = orjson.dumps({"instances": [_instance()]}).replace(b"}]}", b', "is_true": 1}]}')
    with pytest.raises(RequestError) as refused:
        validator.parse(body)
    assert refused.value.field == "instances[0].is_true"


@pytest.mark.parametrize("literal", [b"NaN", b"1e309", b"-Infinity"])
def test_non_finite_numbers_are_refused(validator, literal):
    body = orjson.dumps({"instances": [_instance()]}).replace(b":10.0", b":" + literal, 1)
    with pytest.raises(RequestError) as refused:
        validator.parse(body)
    assert refused.value.status == 400


def test_an_integer_beyond_64_bits_is_a_400_not_a_crash(validator):
    body = orjson.dumps({"instances": [_instance()]}).replace(b":10.0", b":" + b"9" * 30, 1)
    with pytest.raises(RequestError) as refused:
        validator.parse(body)
    assert refused.value.status == 400


@pytest.mark.parametrize("value", [True, False, None, "10.0", [10.0], {"v": 10.0}])
def test_a_non_number_anywhere_in_a_batch_is_refused_naming_its_field(validator, value):
    # bool is a subclass of int and numpy would turn True into 1.0: the fast path must not accept it.
    instances = [_instance(), _instance(), {**_instance(), SIGNATURE.features[3]: value}]
    with pytest.raises(RequestError) as refused:
        validator.parse(orjson.dumps({"instances": instances}))
    assert refused.value.field == f"instances[2].{SIGNATURE.features[3]}"


def test_the_fast_path_takes_valid_batches_and_declines_doubtful_ones(validator):
    valid = [_instance(1.0), _instance(2)]
    assert validator._fast_matrix(valid) is not None
    assert validator._fast_matrix([*valid, {**_instance(), SIGNATURE.features[1]: True}]) is None
    assert validator._fast_matrix([{k: v for k, v in _instance().items() if k != SIGNATURE.features[0]}]) is None


def test_a_one_feature_model_uses_the_fast_path():
    one = type(SIGNATURE)(**{**SIGNATURE.model_dump(), "features": SIGNATURE.features[:1]})
    single = InstanceValidator(one, max_instances=10)
    instances = [{SIGNATURE.features[0]: 12.5}, {SIGNATURE.features[0]: 13}]
    matrix = single._fast_matrix(instances)
    assert matrix is not None and matrix.tolist() == [[12.5], [13.0]]
