"""Alerts: a run that failed, or a check of severity ERROR that failed in a run, is said once in the
daemon's log as an `ALERT` line and, when MEDALLION_ALERT_WEBHOOK_URL is set, posted to that webhook
as JSON `{"text": ...}` (what Slack, Teams and most chat webhooks take). The URL usually carries a
token: it reaches the resource as an EnvVar and is never logged."""

import json
import urllib.error
import urllib.request

from dagster import (
    AssetCheckSeverity,
    ConfigurableResource,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    run_failure_sensor,
    run_status_sensor,
)

ALERT_WEBHOOK_VARIABLE = "MEDALLION_ALERT_WEBHOOK_URL"


class AlertChannel(ConfigurableResource):
    """Where alerts go: always the log, and the webhook when one is configured."""

    webhook_url: str | None = None
    timeout_seconds: float = 10.0

    def send(self, text: str, log) -> None:
        log.error(text)
        if not self.webhook_url:
            return
        request = urllib.request.Request(self.webhook_url, data=json.dumps({"text": text}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                response.read()
        except (urllib.error.URLError, OSError) as error:  # the alert is in the log already
            reason = getattr(error, "code", None) or type(error).__name__
            log.error(f"the alert webhook ({ALERT_WEBHOOK_VARIABLE}) did not take the alert: {reason}")


def failed_error_checks(instance: DagsterInstance, run_id: str) -> list[str]:
    """`<asset>:<check>: <description>` for each ERROR-severity check that failed in the run."""
    failed = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR:
            detail = f": {evaluation.description}" if evaluation.description else ""
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}{detail}")
    return failed


def step_errors(instance: DagsterInstance, run_id: str) -> list[str]:
    """`<step>: <the error it raised>` for each step that failed in the run (the innermost cause: what
    the step's code raised, not Dagster's wrapper around it)."""
    found = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        error = record.dagster_event.event_specific_data.error
        while error.cause is not None:
            error = error.cause
        found.append(f"{record.step_key}: {error.message.strip().splitlines()[0]}")
    return found


def _run_name(context: RunStatusSensorContext) -> str:
    run = context.dagster_run
    partition = run.tags.get("dagster/partition")
    return f"run {run.run_id} ({run.job_name}{', partition ' + partition if partition else ''})"


@run_failure_sensor(
    name="alert_on_run_failure", monitor_all_code_locations=True, default_status=DefaultSensorStatus.RUNNING,
    description=f"A run that failed is said in the log and posted to {ALERT_WEBHOOK_VARIABLE} if set.",
)
def alert_on_run_failure(context: RunFailureSensorContext, alerts: AlertChannel) -> None:
    run_id = context.dagster_run.run_id
    details = step_errors(context.instance, run_id) or [context.failure_event.message]
    checks = failed_error_checks(context.instance, run_id)
    also = f"; failed checks: {'; '.join(checks)}" if checks else ""
    alerts.send(f"ALERT {_run_name(context)} failed: {'; '.join(details)}{also}", context.log)


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS, name="alert_on_failed_checks", monitor_all_code_locations=True,
    default_status=DefaultSensorStatus.RUNNING,
    description="A run that succeeded with a failed check of severity ERROR (an unreadable landed file, "
                f"a reconciliation that does not add up) is said in the log and posted to {ALERT_WEBHOOK_VARIABLE}.",
)
def alert_on_failed_checks(context: RunStatusSensorContext, alerts: AlertChannel) -> None:
    checks = failed_error_checks(context.instance, context.dagster_run.run_id)
    if checks:
        alerts.send(f"ALERT {_run_name(context)} has failed checks: {'; '.join(checks)}", context.log)


alert_sensors = [alert_on_run_failure, alert_on_failed_checks]
