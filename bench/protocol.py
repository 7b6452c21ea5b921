"""A visitor without a browser: Streamlit's websocket protocol, spoken as its front end speaks it.

The front end sends a `BackMsg` to rerun the script (a page, its URL's query, the widgets' values,
a pressed button), reruns each fragment at the interval the server asks for (`auto_rerun`: the
live chart, the sidebar's run status), and draws the `ForwardMsg` deltas it gets back. This one
does the same but draws nothing, so that N visitors cost the machine a few coroutines instead of
N browsers: what it times is the server's answer, to the element that answers. See
bench/first_contact.py.
"""

import asyncio
import re
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

RUN_TIMEOUT_S = 120  # one script run, a fresh server's included


def elements(messages: list[ForwardMsg]):
    """(kind, element) of each new element among the messages: ("plotly_chart", PlotlyChart), ..."""
    for message in messages:
        if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
            kind = message.delta.new_element.WhichOneof("type")
            yield kind, getattr(message.delta.new_element, kind)


class Visitor:
    """One session of the app on `port`, on one websocket; use as `async with Visitor(port) as v`."""

    def __init__(self, port: int):
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.page = ""
        self.widgets: dict[str, WidgetState] = {}  # widget id -> the value this visitor set
        self.fragments: dict[str, tuple[float, float]] = {}  # fragment id -> (interval s, last rerun)

    async def __aenter__(self):
        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None)
        return self

    async def __aexit__(self, *error):
        await self.socket.close()

    async def open(self, page: str, query: str = "") -> list[ForwardMsg]:
        """Run a page (its URL path, "" for the default one) and return its messages."""
        self.page, self.fragments, self.widgets = page, {}, {}
        await self._send(query_string=query)
        return await self._until_finished()

    async def press(self, messages: list[ForwardMsg], button: str, values: dict[str, int]) -> None:
        """Press the button labelled `button` on the page that sent `messages`, after setting the
        whole-number inputs labelled in `values` (form widgets go with their form's submit)."""
        ids = {element.label: element.id for _, element in elements(messages) if getattr(element, "id", "")}
        self.widgets = {ids[label]: WidgetState(id=ids[label], int_value=value) for label, value in values.items()}
        await self._send(pressed=WidgetState(id=ids[button], trigger_value=True))

    async def watch(self, answers: re.Pattern, seconds: float) -> float | None:
        """Follow the page for `seconds`, rerunning its fragments when the server asks, as a
        browser would; return the seconds from now to the first plotly chart or text matching
        `answers`, or None if neither came."""
        began, answered = time.monotonic(), None
        while time.monotonic() - began < seconds:
            try:
                message = ForwardMsg.FromString(await asyncio.wait_for(self.socket.recv(), 0.05))
            except TimeoutError:
                message = None
            if message is not None:
                self._follow(message)
                if answered is None and any(_answers(kind, element, answers) for kind, element in elements([message])):
                    answered = time.monotonic() - began
            await self._rerun_due_fragments()
        return answered

    async def _send(self, query_string: str = "", pressed: WidgetState | None = None, fragment: str = "") -> None:
        message = BackMsg()
        state = message.rerun_script
        state.page_name, state.query_string = self.page, query_string
        state.widget_states.widgets.extend([*self.widgets.values(), *([pressed] if pressed else [])])
        if fragment:
            state.fragment_id, state.is_auto_rerun = fragment, True
        await self.socket.send(message.SerializeToString())

    async def _until_finished(self) -> list[ForwardMsg]:
        messages = []
        while True:
            message = ForwardMsg.FromString(await asyncio.wait_for(self.socket.recv(), RUN_TIMEOUT_S))
            self._follow(message)
            messages.append(message)
            if message.WhichOneof("type") == "script_finished":
                return messages

    def _follow(self, message: ForwardMsg) -> None:
        if message.WhichOneof("type") == "auto_rerun":
            self.fragments[message.auto_rerun.fragment_id] = (message.auto_rerun.interval, time.monotonic())

    async def _rerun_due_fragments(self) -> None:
        now = time.monotonic()
        for fragment, (interval, last) in self.fragments.items():
            if now - last >= interval:
                self.fragments[fragment] = (interval, now)
                await self._send(fragment=fragment)


def _answers(kind: str, element, pattern: re.Pattern) -> bool:
    return kind == "plotly_chart" or bool(pattern.search(getattr(element, "body", "")))
