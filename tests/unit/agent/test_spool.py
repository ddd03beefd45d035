"""The spool: nothing lost while the API is down, each batch once, in order;
bounded with a dropped count; a bad batch set aside, not retried forever."""

from __future__ import annotations

from pathlib import Path

from conftest import Receiver

from signalfire_agent.agent import Agent
from signalfire_agent.config import AgentConfig
from signalfire_agent.sender import Sender


def agent_for(url: str, spool: Path, **kw) -> Agent:
    cfg = AgentConfig(api_url=url, token="t0ken", hostname="web-1", interval=1, spool_dir=str(spool),
                      checkers=["memory", "disk"], backoff_initial=0, **kw).validate()
    return Agent(cfg)


def test_api_down_for_two_cycles_then_up_every_batch_arrives_once_in_order(receiver: Receiver,
                                                                           tmp_path: Path) -> None:
    agent = agent_for(receiver.url, tmp_path)
    collected = []
    for _ in range(2):  # nothing listens on the port yet: connection refused
        collected.append(agent.collect())
        agent.spool.put(collected[-1].to_dict())
        report = agent.flush()
        assert report.sent == 0 and report.error and report.pending == len(collected)
    receiver.start()
    collected.append(agent.collect())
    agent.spool.put(collected[-1].to_dict())
    report = agent.flush()
    assert report.sent == 3 and report.pending == 0
    assert [b["batch_id"] for b in receiver.batches] == [b.batch_id for b in collected]
    assert len(receiver.requests) == 3, "each batch sent once once the API is up"
    assert receiver.requests[0]["path"] == "/checks/" and receiver.requests[0]["auth"] == "Bearer t0ken"
    assert receiver.batches[0]["host"]["hostname"] == "web-1"
    assert [r["checker_name"] for r in receiver.batches[0]["results"]] == ["memory", "disk"]


def test_cycles_through_a_slow_answer_lost_in_transit_store_each_batch_once(receiver: Receiver,
                                                                            tmp_path: Path) -> None:
    receiver.start()
    receiver.answers = [503, 0]  # first: server error; second: stored but the answer is lost
    agent = agent_for(receiver.url, tmp_path)
    for _ in range(4):
        agent.cycle()
    assert agent.spool.pending() == []
    assert len(receiver.batches) == 4, "the batch whose answer was lost is resent and stored once"
    order = [b["collected_at"] for b in receiver.batches]
    assert order == sorted(order)


def test_backoff_doubles_and_holds_sends_between_attempts(tmp_path: Path) -> None:
    clock = [100.0]
    cfg = AgentConfig(api_url="http://127.0.0.1:9", token="t", hostname="h", interval=1, spool_dir=str(tmp_path),
                      checkers=["memory"], backoff_initial=2, backoff_max=5).validate()
    sends = []

    class Down:
        def post(self, payload):
            sends.append(clock[0])
            from signalfire_agent.sender import Answer
            return Answer(0, "ConnectionRefusedError")

    agent = Agent(cfg, sender=Down(), mono=lambda: clock[0])
    for _ in range(12):
        agent.cycle()
        clock[0] += 1
    assert sends == [100.0, 102.0, 106.0, 111.0], "2 s, 4 s, then capped at 5 s"
    assert len(agent.spool.pending()) == 12


def test_spool_is_bounded_oldest_dropped_and_the_count_reported_once(receiver: Receiver, tmp_path: Path) -> None:
    agent = agent_for(receiver.url, tmp_path, spool_max_batches=3)
    made = []
    for _ in range(5):  # API down: 5 batches into a spool of 3
        made.append(agent.collect().to_dict())
        dropped = agent.spool.put(made[-1])
        agent.state["dropped"] = agent.state.get("dropped", 0) + dropped
        agent.flush()
    assert len(agent.spool.pending()) == 3 and agent.state["dropped"] == 2
    receiver.start()
    agent.flush()
    assert [b["batch_id"] for b in receiver.batches] == [b["batch_id"] for b in made[2:]]
    assert [b["dropped_batches"] for b in receiver.batches] == [2, 0, 0]
    assert agent.state["dropped"] == 0


def test_dropped_count_survives_a_restart(receiver: Receiver, tmp_path: Path) -> None:
    agent = agent_for(receiver.url, tmp_path, spool_max_batches=1)
    for _ in range(3):
        agent.cycle()  # API down
    assert agent.state["dropped"] == 2
    receiver.start()
    again = agent_for(receiver.url, tmp_path, spool_max_batches=1)
    again.cycle()
    assert [b["dropped_batches"] for b in receiver.batches] == [3]  # 2 before, 1 more pushed out by this cycle


def test_a_bad_batch_is_set_aside_not_retried_and_the_rest_go_on(receiver: Receiver, tmp_path: Path) -> None:
    receiver.start()
    receiver.answers = [400]
    agent = agent_for(receiver.url, tmp_path)
    agent.cycle()
    agent.cycle()
    agent.cycle()
    assert len(receiver.requests) == 3 and len(receiver.batches) == 2
    rejected = agent.spool.rejected()
    assert len(rejected) == 1 and "HTTP 400" in Path(rejected[0][:-5] + ".reason").read_text()
    assert agent.spool.pending() == []


def test_an_auth_failure_is_retried_not_rejected(receiver: Receiver, tmp_path: Path) -> None:
    receiver.start()
    receiver.answers = [401]
    agent = agent_for(receiver.url, tmp_path)
    agent.cycle()
    assert agent.spool.rejected() == [] and len(agent.spool.pending()) == 1
    agent.cycle()
    assert len(receiver.batches) == 2 and agent.spool.pending() == []


def test_sender_builds_the_checks_url_from_any_base() -> None:
    assert Sender("https://x.example/prod", "t").path == "/prod/checks/"
    assert Sender("http://127.0.0.1:3000/", "t").path == "/checks/"
