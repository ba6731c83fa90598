"""`make synth` prints this: every stack of every environment, what it holds, and what it imports.

    python -m stacks.inventory cdk.out

Read from the cloud assembly (the manifests and templates cdk synth wrote), so it lists what
`cdk deploy` would deploy, in dependency order within each environment.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackSummary:
    environment: str
    name: str
    description: str
    resources: int
    termination_protection: bool
    depends_on: tuple[str, ...]
    imports: tuple[str, ...]  # export names this stack reads from another


def _stack_artifacts(assembly: Path) -> list[tuple[str, Path, dict[str, dict]]]:
    """(environment, nested assembly folder, its stack artifacts by id), from the manifests: files a previous
    synth left behind are not stacks of this one."""
    found = []
    for manifest_path in sorted(assembly.glob("assembly-*/manifest.json")):
        artifacts = json.loads(manifest_path.read_text()).get("artifacts", {})
        found.append((manifest_path.parent.name.removeprefix("assembly-"), manifest_path.parent,
                      {artifact_id: artifact for artifact_id, artifact in artifacts.items()
                       if artifact.get("type") == "aws:cloudformation:stack"}))
    return found


def stack_templates(assembly: Path, environment: str | None = None) -> list[tuple[str, Path]]:
    """(environment, template path) of every stack the assembly's manifests list (or one environment's)."""
    return [(env, folder / artifact["properties"]["templateFile"])
            for env, folder, stacks in _stack_artifacts(assembly) if environment in (None, env)
            for artifact in stacks.values()]


def summaries(assembly: Path) -> list[StackSummary]:
    found = []
    for environment, folder, stacks in _stack_artifacts(assembly):
        names = {artifact_id: artifact["properties"].get("stackName", artifact_id)
                 for artifact_id, artifact in stacks.items()}
        for artifact_id, artifact in stacks.items():
            properties = artifact["properties"]
            text = (folder / properties["templateFile"]).read_text()
            template = json.loads(text)
            found.append(StackSummary(
                environment=environment, name=names[artifact_id], description=template.get("Description", ""),
                resources=len(template.get("Resources", {})),
                termination_protection=bool(properties.get("terminationProtection")),
                depends_on=tuple(names[d] for d in artifact.get("dependencies", []) if d in names),
                imports=tuple(sorted(set(re.findall(r'"Fn::ImportValue": "([^"]+)"', text))))))
    return _in_deploy_order(found)


def _in_deploy_order(stacks: list[StackSummary]) -> list[StackSummary]:
    ordered: list[StackSummary] = []
    remaining = list(stacks)
    while remaining:
        done = {(s.environment, s.name) for s in ordered}
        ready = [s for s in remaining if all((s.environment, d) in done for d in s.depends_on)] or remaining[:1]
        ordered += ready
        remaining = [s for s in remaining if s not in ready]
    return sorted(ordered, key=lambda s: s.environment)  # stable: deploy order kept within an environment


def render(stacks: list[StackSummary]) -> str:
    lines = []
    for summary in stacks:
        protected = ", termination protection" if summary.termination_protection else ""
        lines.append(f"{summary.environment:6} {summary.name:32} {summary.resources:4} resources{protected}")
        lines.append(f"{'':6}   {summary.description}")
        if summary.imports:
            sources = sorted({name.split(":")[0] for name in summary.imports})
            lines.append(f"{'':6}   imports {len(summary.imports)} value(s) from {', '.join(sources)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    assembly = Path(args[0] if args else "cdk.out")
    stacks = summaries(assembly)
    if not stacks:
        print(f"no stacks under {assembly}: run `make synth` first", file=sys.stderr)
        return 1
    print(render(stacks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
