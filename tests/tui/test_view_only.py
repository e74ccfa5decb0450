"""``--view-only`` (the dashboard ``cfdash ssh`` gives its viewers): logged in with the
credentials given, private mode on, every trading key refused with the read-only note."""

from __future__ import annotations

from cfdash.server.users import DEMO_USER_ID
from cfdash.tui.main import build
from cfdash.tui.widgets.orders import OpenOrdersView
from cfdash.tui.widgets.positions import PositionsView
from tests.support.wait import until

from .conftest import parse

REFUSED = "read-only: trading is off"


async def test_view_only_logs_in_hides_balances_and_refuses_trading(make_dashboard) -> None:
    dashboard = make_dashboard("--no-traders", "--view-only")
    app = dashboard.app
    assert app.remember is not None  # only an SSH session's dashboard forgets the choices
    async with app.run_test(size=(130, 36), notifications=True) as pilot:
        await until(pilot, lambda: app.status.user_id == DEMO_USER_ID)
        assert app.read_only and app.private
        # logged in: the account's panels show it, not "read-only: no account"
        orders = app.query_one(OpenOrdersView)
        await until(pilot, lambda: not orders.read_only and not app.screen.no_account)
        assert not app.query_one(PositionsView).read_only
        assert not app.query_one("#entry").display  # no order form
        for key in ("b", "s", "c", "C"):
            await pilot.press(key)
        await until(pilot, lambda: sum(REFUSED in n.text for n in app.messages) == 4)
        assert not app.available("buy") and not app.available("login")
        await until(pilot, lambda: dashboard.source.views.balances is not None)
        await pilot.press("p")  # the viewer may show the balances
        assert not app.private


def test_an_ssh_sessions_dashboard_remembers_nothing(home) -> None:
    args = parse("--no-traders", "--view-only")
    args.remember = False  # as cfdash.ssh.child sets it
    with build(args, env=home) as dashboard:
        assert dashboard.app.remember is None


async def test_an_ssh_sessions_dashboard_writes_no_screenshot(home, tmp_path) -> None:
    args = parse("--no-traders", "--view-only")
    args.screenshots = False  # as cfdash.ssh.child sets it: the file would be the host's
    with build(args, env=home) as dashboard:
        app = dashboard.app
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert titles and not any("screenshot" in t.lower() for t in titles)
            assert app.deliver_screenshot(path=str(tmp_path)) is None
            await until(pilot, lambda: any("screenshots are off" in n.text for n in app.messages))
        assert not list(tmp_path.glob("*.svg"))
    with build(parse("--no-traders"), env=home) as dashboard:  # a local one offers them
        app = dashboard.app
        async with app.run_test(size=(100, 30)):
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert any("screenshot" in t.lower() for t in titles)
