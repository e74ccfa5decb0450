"""The output budget and the per-address cap (sans-I/O: no sockets, no threads)."""

from __future__ import annotations

from cfdash.server.outbound import AddressCap, OutputBudget


def test_the_budget_counts_only_when_its_bound_passes_the_limit() -> None:
    budget = OutputBudget(1000)
    assert not budget.queued(600)
    assert not budget.queued(400)  # 1000: at the limit, not over it
    assert budget.queued(1)


def test_settling_drops_the_readers_furthest_behind_first() -> None:
    budget = OutputBudget(1000)
    budget.queued(2000)
    # 1300 held: dropping the 500 leaves 800, still over three quarters (750); then the 400
    assert budget.settle({1: 100, 2: 500, 3: 400, 4: 300}) == [2, 3]
    # the exact count (400) is the new bound: 600 more fit before the next count
    assert not budget.queued(600)
    assert budget.queued(1)


def test_settling_under_the_limit_drops_no_one() -> None:
    budget = OutputBudget(1000)
    budget.queued(5000)  # the bound passed the limit, but most of it has been drained since
    assert budget.settle({1: 900, 2: 50}) == []
    assert not budget.queued(50)


def test_no_budget() -> None:
    budget = OutputBudget(0)
    assert not budget.queued(10**12)
    assert budget.settle({1: 10**12}) == []


def test_the_cap_counts_connections_per_address() -> None:
    cap = AddressCap(2)
    assert cap.admit("10.0.0.1") and cap.admit("10.0.0.1")
    assert not cap.admit("10.0.0.1")
    assert cap.admit("10.0.0.2")  # another address has its own count
    cap.release("10.0.0.1")
    assert cap.count("10.0.0.1") == 1
    assert cap.admit("10.0.0.1")
    for _ in range(2):
        cap.release("10.0.0.1")
    assert cap.count("10.0.0.1") == 0


def test_no_cap() -> None:
    cap = AddressCap(0)
    assert all(cap.admit("127.0.0.1") for _ in range(10_000))


def test_an_ipv6_host_counts_by_its_64_as_the_rate_limits_do() -> None:
    cap = AddressCap(2)
    assert cap.admit("2001:db8:1:2::1") and cap.admit("2001:db8:1:2:ffff::7")
    assert not cap.admit("2001:db8:1:2::abcd")  # the same /64: one host, however many ips
    assert cap.admit("2001:db8:1:3::1")  # the next /64 is another host
    assert cap.admit("::ffff:10.0.0.9") and cap.count("10.0.0.9") == 1  # mapped: ipv4
    cap.release("2001:db8:1:2::1")
    assert cap.count("2001:db8:1:2::99") == 1
