"""Audio on a Linux machine through a PulseAudio server (or PipeWire's pulse server): the
speaker is a sink, the microphone a source, reached with `pacat` and `parec` (pulseaudio-utils)
as asyncio subprocesses exchanging raw mono s16le at RATE.

Why subprocesses: PyAV's FFmpeg has no pulse device, and the libpulse bindings (pulsectl,
pasimple) block; the pipe keeps the event loop free and pacat paces the writer: its stdin pipe
is made one page small, so a write waits until the server takes the samples, as a sound card
would. The server is the one PULSE_SERVER names (or the user's default)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os

import numpy as np

from vigil.hal.audio import PERIOD, RATE, AudioCapabilities, AudioError, AudioPath

F_SETPIPE_SZ = 1031  # fcntl: the pipe's buffer size (Linux)
FORMAT = ["--raw", "--format=s16le", f"--rate={RATE}", "--channels=1"]


class PulseAudio:
    def __init__(self, sink: str, source: str, capabilities: AudioCapabilities, server: str | None = None,
                 latency_ms: int = 50) -> None:
        self.capabilities = capabilities
        self.path = AudioPath(capabilities)
        self.sink = sink
        self.source = source
        self.env = {**os.environ, **({"PULSE_SERVER": server} if server else {})}
        self.latency_ms = latency_ms
        self._player: asyncio.subprocess.Process | None = None
        self._recorder: asyncio.subprocess.Process | None = None
        self._play_lock = asyncio.Lock()

    async def _start(self, *args: str, stdin: bool) -> asyncio.subprocess.Process:
        try:
            process = await asyncio.create_subprocess_exec(
                *args, *FORMAT, f"--latency-msec={self.latency_ms}", env=self.env,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL if stdin else asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except OSError as err:
            raise AudioError(f"{args[0]} cannot start ({err}): install pulseaudio-utils") from None
        if stdin and process.stdin is not None:
            pipe = process.stdin.get_extra_info("pipe")
            if pipe is not None:
                with contextlib.suppress(OSError):
                    fcntl.fcntl(pipe.fileno(), F_SETPIPE_SZ, 4096)
        return process

    @staticmethod
    async def _failure(process: asyncio.subprocess.Process, what: str) -> AudioError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        stderr = b""
        if process.stderr is not None:
            with contextlib.suppress(Exception):
                stderr = await asyncio.wait_for(process.stderr.read(), 2)
        await process.wait()
        why = stderr.decode(errors="replace").strip().splitlines()
        return AudioError(f"{what}: {why[-1] if why else f'exit status {process.returncode}'}")

    async def play(self, samples: np.ndarray) -> None:
        out = self.path.outgoing(samples)
        async with self._play_lock:
            if self._player is None or self._player.returncode is not None:
                self._player = await self._start("pacat", "--playback", f"--device={self.sink}", stdin=True)
            player = self._player
            assert player.stdin is not None
            try:
                player.stdin.write(out.astype("<i2").tobytes())
                await player.stdin.drain()
            except (ConnectionError, BrokenPipeError):
                self._player = None
                raise await self._failure(player, f"the audio sink {self.sink} refused the samples") from None

    async def open_input(self) -> None:
        if not self.path.settings.input_enabled:
            raise AudioError("the audio input is turned off (Audio > Device settings)")
        if self._recorder is None or self._recorder.returncode is not None:
            self._recorder = await self._start("parec", "--record", f"--device={self.source}", stdin=False)

    async def read(self) -> np.ndarray:
        recorder = self._recorder
        if recorder is None or recorder.stdout is None:
            raise AudioError("the audio input is not open")
        try:
            data = await recorder.stdout.readexactly(PERIOD * 2)
        except asyncio.IncompleteReadError:
            self._recorder = None
            raise await self._failure(recorder, f"the audio source {self.source} stopped") from None
        return self.path.incoming(np.frombuffer(data, "<i2").astype(np.int16))

    async def close_input(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None and recorder.returncode is None:
            recorder.terminate()
            await recorder.wait()

    async def close(self) -> None:
        await self.close_input()
        player, self._player = self._player, None
        if player is not None and player.returncode is None:
            if player.stdin is not None:
                player.stdin.close()
            try:
                await asyncio.wait_for(player.wait(), 2)
            except TimeoutError:
                player.kill()
                await player.wait()
