"""A take whose answer is lost on the way back (a satellite link cut just after F2): the
client asks again with the same key, the card opens, and nothing stays attached.

The real backend (uvicorn) sits behind a small TCP proxy that forwards the take to the
server and then drops the server's answer, as a link that fails at the wrong moment does.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from ekc_core.client import EkcClient, new_idempotency_key
from ekc_core.enums import Channel, ContactOutcome, ContactStatus, Line
from ekc_core.errors import ServerUnreachableError
from ekc_core.schemas import ContactInbound, ContactPublic, ContactTaken, ContactWrapUp
from ekc_core.settings import ClientSettings

pytestmark = pytest.mark.client_side


class AnswerDroppingProxy:
    """Forwards TCP to `upstream`; the answers of the next `drop` requests whose bytes
    contain `marker` are swallowed and the connection is cut (the server did the work)."""

    def __init__(self, upstream: tuple[str, int], marker: bytes) -> None:
        self.upstream = upstream
        self.marker = marker
        self.drop = 0
        self.dropped = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        swallow = threading.Event()
        threading.Thread(target=self._back, args=(server, client, swallow), daemon=True).start()
        try:
            while data := client.recv(65536):
                if self.marker in data and self.drop > 0:
                    self.drop -= 1
                    swallow.set()  # the request reaches the server, its answer is lost
                server.sendall(data)
        except OSError:
            pass
        finally:
            with suppress(OSError):
                server.shutdown(socket.SHUT_WR)

    def _back(self, server: socket.socket, client: socket.socket, swallow: threading.Event) -> None:
        try:
            while data := server.recv(65536):
                if swallow.is_set():
                    self.dropped += 1
                    break  # the server answered: the work is done on its side; cut the link
                client.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, server):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@contextmanager
def proxy_to(url: str) -> Iterator[AnswerDroppingProxy]:
    host, _, port = url.removeprefix("http://").partition(":")
    proxy = AnswerDroppingProxy((host, int(port)), marker=b"/take")
    try:
        yield proxy
    finally:
        proxy.close()


def test_a_lost_take_answer_is_asked_again_and_the_card_opens(
    live_server: str, operator, gateway
) -> None:
    fast = ClientSettings(retries=2, connect_timeout=3, read_timeout=5)
    with (
        proxy_to(live_server) as proxy,
        EkcClient(f"http://127.0.0.1:{proxy.port}", token=operator.token, settings=fast) as op,
        EkcClient(live_server, token=gateway.token) as gw,
    ):
        contact = gw.post_contact(
            ContactInbound(channel=Channel.phone, line=Line.l122, caller_number="89025550777")
        )
        key = new_idempotency_key()

        # 1. one answer lost: the client's own retry with the same key opens the card
        proxy.drop = 1
        answer = op.request("POST", f"/contacts/{contact.id}/take", idempotency_key=key)
        taken = ContactTaken.model_validate(answer.json())
        assert proxy.dropped == 1
        assert taken.contact.id == contact.id
        assert taken.contact.status == ContactStatus.active

        # 2. every answer lost while the link is bad: the console is told it is offline ...
        second = gw.post_contact(
            ContactInbound(channel=Channel.phone, line=Line.l117, caller_number="89025550778")
        )
        key2 = new_idempotency_key()
        proxy.drop = 3
        with pytest.raises(ServerUnreachableError):
            op.request("POST", f"/contacts/{second.id}/take", idempotency_key=key2)
        assert proxy.dropped == 4
        # ... the server holds it for this operator; the caller hangs up meanwhile ...
        assert {c.id for c in op_mine(live_server, operator.token)} == {contact.id, second.id}
        gw.request("POST", f"/contacts/{second.id}/hangup")
        # ... and when the link is back the same take opens it, in after-call work
        again = ContactTaken.model_validate(
            op.request("POST", f"/contacts/{second.id}/take", idempotency_key=key2).json()
        )
        assert again.contact.status == ContactStatus.wrapup

        # both cards are finished and nothing stays attached to the operator
        op.end_contact(contact.id)
        wrap = ContactWrapUp(topic_code="svo", outcome=ContactOutcome.consultation)
        op.wrap_up(contact.id, wrap, idempotency_key=new_idempotency_key())
        op.wrap_up(second.id, wrap, idempotency_key=new_idempotency_key())
        assert op_mine(live_server, operator.token) == []


def op_mine(url: str, token: str) -> list[ContactPublic]:
    """The operator's open contacts, asked past the proxy."""
    with EkcClient(url, token=token) as direct:
        rows = direct.request("GET", "/contacts/mine").json()
    return [ContactPublic.model_validate(c) for c in rows]
