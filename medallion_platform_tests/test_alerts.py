"""Alerts reach a webhook on 127.0.0.1: a failed run, and a run whose ERROR check failed (an unreadable
landed file), each posted once with what went wrong; the webhook's URL is in no log line."""

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    Definitions,
    asset,
    build_run_status_sensor_context,
    define_asset_job,
)

from medallion_platform.defs.alerts import AlertChannel, alert_on_failed_checks, alert_on_run_failure
from medallion_platform.settings import SettingsError, get_settings

HEADER = "customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases"


@pytest.fixture
def webhook():
    """An HTTP server on a free loopback port that keeps every JSON body posted to it."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/T0KEN-s3cret", received
    server.shutdown()


def _sensor_context(sensor, instance, result, event_type, url):
    event = next(e for e in result.all_events if e.event_type == event_type)
    return build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=event, dagster_instance=instance,
                                           dagster_run=result.dagster_run, resources={"alerts": AlertChannel(webhook_url=url)})


def test_a_run_with_an_unreadable_file_alerts_naming_it(webhook, local_settings, capfd):
    url, received = webhook
    from medallion_platform.definitions import build_definitions

    landing = local_settings.landing
    for key, text in (("customers/2026-11-20/a.csv", f"{HEADER}\nC1,Ann,a@x.com,USA,VIP,2024-01-01,30,F,3\n"),
                      ("customers/2026-11-20/cut.csv", "")):
        path = landing._root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    job = define_asset_job("bronze_customers", selection="bronze/customers")
    defs = Definitions.merge(build_definitions(local_settings), Definitions(jobs=[job]))
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("bronze_customers").execute_in_process(partition_key="2026-11-20", instance=instance)
        assert result.success
        alert_on_failed_checks(_sensor_context(alert_on_failed_checks, instance, result, DagsterEventType.RUN_SUCCESS, url))
    [alert] = received
    assert alert["text"].startswith(f"ALERT run {result.run_id} (bronze_customers, partition 2026-11-20) has failed checks:")
    assert "bronze/customers:landed_files_loaded: Could not read: customers/2026-11-20/cut.csv" in alert["text"]
    log = capfd.readouterr().err
    assert alert["text"] in log and "T0KEN-s3cret" not in log


def test_a_failed_run_alerts_with_its_error_and_an_unreachable_webhook_is_logged_not_raised(webhook, capfd):
    url, received = webhook

    @asset
    def breaks():
        raise ValueError("the upstream export was empty")

    defs = Definitions(assets=[breaks], jobs=[define_asset_job("breaking", selection=[breaks])])
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("breaking").execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        context = _sensor_context(alert_on_run_failure, instance, result, DagsterEventType.RUN_FAILURE, url)
        alert_on_run_failure(context.for_run_failure())
        [alert] = received
        assert alert["text"] == f"ALERT run {result.run_id} (breaking) failed: breaks: ValueError: the upstream export was empty"

        unreachable = "http://127.0.0.1:9/hooks/T0KEN-s3cret"  # the discard port: nothing listens
        context = _sensor_context(alert_on_run_failure, instance, result, DagsterEventType.RUN_FAILURE, unreachable)
        alert_on_run_failure(context.for_run_failure())  # does not raise
    log = capfd.readouterr().err
    assert "the alert webhook (MEDALLION_ALERT_WEBHOOK_URL) did not take the alert: URLError" in log
    assert "T0KEN-s3cret" not in log


def test_a_webhook_that_is_not_a_url_is_refused_without_echoing_it(clean_env):
    clean_env.setenv("MEDALLION_ALERT_WEBHOOK_URL", "hooks.example/T0KEN")
    with pytest.raises(SettingsError, match="MEDALLION_ALERT_WEBHOOK_URL must start with http") as error:
        get_settings()
    assert "T0KEN" not in str(error.value)
    clean_env.setenv("MEDALLION_ALERT_WEBHOOK_URL", "http://127.0.0.1:1/hook")
    assert replace(get_settings()).alert_webhook
