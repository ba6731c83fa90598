"""The deploy rehearsal (`make rehearse`): what `cdk deploy` ships, run offline.

- cfn.py: a synthesized template, its assets, and CloudFormation's intrinsic functions;
- provision.py: the embedded AWS built from that template's resource definitions, with a report;
- iam.py: IAM evaluation of every AWS call against the caller's policies from the template;
- packages.py + bootstrap.py: each Lambda package in a clean interpreter of its runtime's Python;
- jobs.py: the pipeline's jobs in an environment built from the job image, as SageMaker runs them;
- run.py: the scenarios and the report.
"""
