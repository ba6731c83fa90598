"""A drift alarm entering ALARM -> start the training pipeline on the latest curated data, guarded.

Storm guard, in this order (the first that holds the start back wins):
1. in flight: an execution of the pipeline is Executing or Stopping -> held (one run at a time);
2. cooldown: an execution started within COOLDOWN_HOURS (for whatever reason: drift, schedule or a
   person) -> held (the new data has not changed much; a flapping alarm must not retrain hourly).
The pipeline's own execution history is the guard's state: no table to keep in step with it, and a
start by any route counts. The function runs with reserved concurrency 1, so two alarms at once are
checked one after the other; the start's ClientRequestToken derives from the event id, so a
redelivered event cannot start a second run. Every decision, started or held, is written to
`monitoring/retrain/` with the alarm, its reason and the metrics behind it. The new version then
waits in PendingManualApproval like any other: retraining never deploys by itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from lambdas.retrain.settings import RetrainEnvironment
from mlstack.monitoring import retrain_record_key

IN_FLIGHT = ("Executing", "Stopping")
RECENT_EXECUTIONS = 20  # enough to find the newest start and any run in flight

Decision = Literal["started", "held-in-flight", "held-cooldown"]


@dataclass(frozen=True)
class AlarmTrigger:
    """What the CloudWatch "Alarm State Change" event says: which alarm, why, and the data behind it."""

    event_id: str
    alarm_name: str
    state: str
    reason: str
    at: str
    reason_data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> AlarmTrigger:
        detail = event.get("detail") or {}
        state = detail.get("state") or {}
        try:
            reason_data = json.loads(state.get("reasonData") or "{}")
        except ValueError:
            reason_data = {"unparsed": state.get("reasonData")}
        return cls(event_id=str(event.get("id", "")), alarm_name=str(detail.get("alarmName", "")),
                   state=str(state.get("value", "")), reason=str(state.get("reason", "")),
                   at=str(event.get("time") or state.get("timestamp") or ""), reason_data=reason_data)


@dataclass(frozen=True)
class RetrainRecord:
    decision: Decision
    decided_at: str
    pipeline: str
    trigger: AlarmTrigger
    detail: str
    execution_arn: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    record_uri: str = ""


class Retrainer:
    def __init__(self, *, sagemaker: Any, s3: Any, env: RetrainEnvironment,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.sagemaker, self.s3, self.env, self.clock = sagemaker, s3, env, clock

    def parameters(self) -> dict[str, str]:
        """The pipeline reads every partition under the dataset prefix: the latest curated data included."""
        return {"Recipe": self.env.RECIPE, "InputDataUri": f"s3://{self.env.CURATED_BUCKET}/{self.env.DATASET_PREFIX}"}

    def handle(self, trigger: AlarmTrigger) -> RetrainRecord:
        now = self.clock()
        decision, detail = self._guard(now)
        execution_arn = None
        if decision == "started":
            execution_arn = self._start(trigger)
        record = RetrainRecord(decision=decision, decided_at=now.isoformat(timespec="seconds"),
                               pipeline=self.env.PIPELINE_NAME, trigger=trigger, detail=detail,
                               execution_arn=execution_arn, parameters=self.parameters())
        return self._write(record)

    def _guard(self, now: datetime) -> tuple[Decision, str]:
        executions = self.sagemaker.list_pipeline_executions(
            PipelineName=self.env.PIPELINE_NAME, SortBy="CreationTime", SortOrder="Descending",
            MaxResults=RECENT_EXECUTIONS).get("PipelineExecutionSummaries", [])
        running = [e for e in executions if e.get("PipelineExecutionStatus") in IN_FLIGHT]
        if running:
            return "held-in-flight", f"{running[0]['PipelineExecutionArn']} is {running[0]['PipelineExecutionStatus']}"
        cooldown = timedelta(hours=self.env.COOLDOWN_HOURS)
        recent = [e for e in executions if e.get("StartTime") and now - _utc(e["StartTime"]) < cooldown]
        if recent:
            started = _utc(recent[0]["StartTime"]).isoformat(timespec="seconds")
            return "held-cooldown", (f"{recent[0]['PipelineExecutionArn']} started at {started}, within the "
                                     f"{self.env.COOLDOWN_HOURS:g} h cooldown")
        return "started", f"no execution in flight and none within the {self.env.COOLDOWN_HOURS:g} h cooldown"

    def _start(self, trigger: AlarmTrigger) -> str:
        response = self.sagemaker.start_pipeline_execution(
            PipelineName=self.env.PIPELINE_NAME,
            PipelineExecutionDisplayName=f"drift-{self.clock().strftime('%Y%m%d-%H%M%S')}",
            PipelineExecutionDescription=f"Retraining on drift: {trigger.alarm_name}: {trigger.reason}"[:3072],
            PipelineParameters=[{"Name": name, "Value": value} for name, value in self.parameters().items()],
            ClientRequestToken=str(uuid.uuid5(uuid.NAMESPACE_URL, trigger.event_id or trigger.at)))
        return response["PipelineExecutionArn"]

    def _write(self, record: RetrainRecord) -> RetrainRecord:
        key = retrain_record_key(record.decided_at, record.decision)
        uri = f"s3://{self.env.RECORD_BUCKET}/{key}"
        record = replace(record, record_uri=uri)
        self.s3.put_object(Bucket=self.env.RECORD_BUCKET, Key=key, ContentType="application/json",
                           Body=json.dumps(asdict(record), indent=1, default=str).encode())
        return record


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
