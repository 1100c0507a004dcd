"""The MQTT bridge (aiomqtt): retained state out, ``set`` commands in, reconnecting.

- Snapshots become retained messages (``topics.device_messages``); a topic is sent
  again only when its payload changed, and while the broker is away only the newest
  payload per topic waits, so a long outage costs no memory and no backlog. They go
  at QoS 0: the broker keeps the last retained payload whatever its subscribers
  receive, a lost connection loses only what the full resend after it repeats, and
  waiting for an acknowledgement per message (QoS 1) made a busy bridge's discovery of
  200 strips take minutes. The clean stop's ``offline`` is QoS 1, and the last will.
- On every (re)connect: ``online`` on the bridge's availability topic (its last
  will says ``offline``), the ``set`` subscriptions, and everything current again,
  discovery configs included.
- Commands: one client (one session, ``clean_session=False``) lives across
  reconnects, so a QoS 1 ``set`` the broker handed over is never dropped with a
  connection: it waits in the client's queue, then in ours, and is carried out by a
  worker that does not depend on the connection. Commands sent while the bridge was
  away are kept by the broker for the persistent session.
- The broker going away: back-off 1 s doubling to 60 s; one log line per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

import aiomqtt

from ..errors import TplinkError
from ..monitor import Snapshot
from .hass import discovery_messages
from .hub import Action, Device, Hub, UnknownDevice, log, slug
from .options import MqttOptions
from .topics import OFFLINE, ONLINE, Messages, device_messages, parse_command, parse_set

MAX_BACKOFF = 60.0
STOP_WAIT = 3.0
PUBLISH_QOS = 0  # retained, and resent in full on every reconnect: TCP is enough
RELIABLE_QOS = 1  # set subscriptions (kept by the session while away); online, offline, will


class MqttBridge:
    """Publishes the hub's snapshots and carries out ``set`` commands."""

    def __init__(self, hub: Hub, options: MqttOptions) -> None:
        self.hub = hub
        self.options = options
        self.connected = asyncio.Event()
        self.published = 0
        self._pending: Messages = {}
        self._sent: Messages = {}
        self._discovered: dict[str, tuple[object, ...]] = {}  # key -> what configs show
        self._wake = asyncio.Event()
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._client = aiomqtt.Client(
            options.host,
            options.port,
            username=options.username,
            password=options.password,
            identifier=f"tplink-tui-bridge-{slug(options.prefix)}",
            clean_session=False,
            will=aiomqtt.Will(options.availability, OFFLINE, qos=RELIABLE_QOS, retain=True),
            tls_context=ssl.create_default_context() if options.tls else None,
            keepalive=30,
            timeout=10,
            max_queued_outgoing_messages=10_000,
        )

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        self.hub.monitor.subscribe(self.on_snapshot)
        self._tasks = [asyncio.create_task(self._run(), name="mqtt connection")]

    async def stop(self) -> None:
        """Say ``offline`` (as the will would) and disconnect; commands in hand finish first."""
        if self._chains:
            await asyncio.wait(list(self._chains.values()), timeout=self.hub.timeout * 2 + 2)
        if self.connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await self._client.publish(
                    self.options.availability, OFFLINE, qos=RELIABLE_QOS, retain=True, timeout=2
                )
        for task in self._tasks:
            task.cancel()
        # A broker that never confirms the disconnect must not hold the exit up.
        _, pending = await asyncio.wait(self._tasks, timeout=STOP_WAIT)
        if pending:
            log.warning("MQTT: no disconnect confirmed within %g s; leaving", STOP_WAIT)

    # -- out -------------------------------------------------------------------------

    def on_snapshot(self, snap: Snapshot) -> None:
        device = self.hub.devices.get(snap.key)
        if device is None:
            return
        self._queue(self._messages(device, snap))

    def _messages(self, device: Device, snap: Snapshot) -> Messages:
        out = device_messages(self.options.prefix, device, snap)
        state = snap.state
        if state is not None and snap.fresh:
            info = state.sysinfo
            outlets = tuple((o.id, o.alias) for o in info.children)
            shown = (info.model, info.mac, info.sw_ver, info.has_emeter, outlets)
            if self._discovered.get(device.key) != shown:  # new, or an outlet renamed
                self._discovered[device.key] = shown
                out.update(discovery_messages(self.options, device, state))
        return out

    def _queue(self, messages: Messages) -> None:
        sent, pending = self._sent, self._pending
        for topic, payload in messages.items():
            if topic in pending or sent.get(topic) != payload:
                pending[topic] = payload
        if pending:
            self._wake.set()

    def _everything(self) -> None:
        """After a (re)connect: all of it again (the broker may have lost its retained)."""
        self._sent.clear()
        self._discovered.clear()
        for device in self.hub.devices.values():
            self._queue(self._messages(device, self.hub.snapshot(device)))

    async def _publish(self, client: aiomqtt.Client) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, {}
            # Availability and discovery first, so Home Assistant knows an entity
            # before its state; every message at QoS 0 (see the module docstring).
            ordered = sorted(batch.items(), key=lambda item: item[0].endswith(_STATE_LEVELS))
            try:
                for topic, payload in ordered:
                    await client.publish(topic, payload, qos=PUBLISH_QOS, retain=True)
                    self._sent[topic] = payload
                    self.published += 1
            except aiomqtt.MqttError:
                self._requeue(batch)
                raise

    def _requeue(self, batch: Messages) -> None:
        for topic, payload in batch.items():
            if topic not in self._sent or self._sent[topic] != payload:
                self._pending.setdefault(topic, payload)

    # -- the connection ------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 1.0
        while True:
            try:
                async with self._client as client:
                    log.info("MQTT connected to %s", self.options.safe_url)
                    delay = 1.0
                    await self._session(client)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                log.warning("MQTT %s: %s; retrying in %g s", self.options.safe_url, exc, delay)
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF, delay * 2)

    async def _session(self, client: aiomqtt.Client) -> None:
        prefix = self.options.prefix
        await client.publish(self.options.availability, ONLINE, qos=RELIABLE_QOS, retain=True)
        await client.subscribe(
            [(f"{prefix}/+/set", RELIABLE_QOS), (f"{prefix}/+/+/set", RELIABLE_QOS)]
        )
        self._everything()
        self.connected.set()
        publisher = asyncio.create_task(self._publish(client), name="mqtt publish")
        try:
            async for message in client.messages:
                self._receive(str(message.topic), message.payload)
        finally:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await publisher
            self.connected.clear()

    # -- in ----------------------------------------------------------------------------

    def _receive(self, topic: str, payload: object) -> None:
        where = parse_set(self.options.prefix, topic)
        if where is None:
            return
        raw = payload if isinstance(payload, bytes) else str(payload).encode()
        action = parse_command(raw)
        if action is None:
            log.warning("MQTT %s: expected ON, OFF or TOGGLE", topic)
            return
        try:
            device = self.hub.find(where[0])
        except (UnknownDevice, TplinkError):
            log.warning("MQTT %s: no such device", topic)
            return
        # One chain per device: commands run in the order received (a toggle reads,
        # then writes), devices independently of each other.
        before = self._chains.get(device.key)
        task = asyncio.create_task(self._carry_out(before, device, where[1], action))
        self._chains[device.key] = task
        task.add_done_callback(lambda done: self._forget(device.key, done))

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self._chains.get(key) is task:
            del self._chains[key]

    async def _carry_out(
        self, before: asyncio.Task[None] | None, device: Device, outlet: str | None, action: Action
    ) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            await self.hub.switch(device, action, outlet)
        except TplinkError as exc:
            log.warning("MQTT set %s: %s", device.saved.name, exc)


_STATE_LEVELS = ("/state", "/power", "/energy", "/attributes")
