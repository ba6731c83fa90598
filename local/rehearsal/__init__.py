"""The deploy rehearsal (`make rehearse`): what `cdk deploy` ships, run offline.

- local/cfn.py, local/provision.py: the embedded AWS built from the template's resource definitions
  (as local mode builds it), with a per-type report;
- local/iam.py: IAM evaluation of every AWS call against the caller's policies from the template;
- packages.py + bootstrap.py: each Lambda package in a clean interpreter of its runtime's Python;
- jobs.py: the pipeline's jobs in an environment built from the job image, as SageMaker runs them;
- run.py: the scenarios and the report.
"""
