"""The speaker's audio as ONVIF sees it (the C1410 manual's ONVIF media profiles: audio source,
audio encoder, audio output and audio decoder configurations): one fixed profile with the
built-in microphone's source and encoder and the speaker's output and decoder, built from and
written to the same parameters as the Audio page and Audio Device Control (vigil/features/audio).

What a Set... can change: the encoder's Encoding (G711, AAC; Media2 also opus) =
`AudioSource.A0.AudioEncoding`, and the output's OutputLevel (dB, -60 to 0) =
`AudioSource.A0.OutputGain`. The rest describes the hardware and is refused when it differs
(names, tokens, bit rate and sample rate of an encoding, multicast, session timeout, send
primacy), with ter:InvalidArgVal / ter:ConfigModify; an unknown token gets ter:NoConfig.
The Media1, Media2 and DeviceIO services (http_media_audio, http_media2_audio, http_deviceio)
share this model."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from lxml.builder import ElementMaker

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.features.audio import const as audio_const
from vigil.features.audio.service import AudioService
from vigil.features.onvif.http_media import no_multicast
from vigil.features.onvif.xml import TT_, find, invalid, text
from vigil.rtsp.mounts import AXIS_MEDIA

PROFILE = "profile_1"
SOURCE = "audiosource_0"
SOURCE_CONFIG = "audiosourceconfig_0"
ENCODER = "audioencoder_0"
OUTPUT = "audiooutput_0"
OUTPUT_CONFIG = "audiooutputconfig_0"
DECODER = "audiodecoderconfig_0"
PROFILE_NAME = "Audio"
SOURCE_NAME = "Microphone"
ENCODER_NAME = "Microphone encoder"
OUTPUT_NAME = "Speaker"
DECODER_NAME = "Speaker decoder"
SESSION_TIMEOUT = "PT60S"  # the RTSP server keeps an idle session this long


@dataclass(frozen=True)
class Encoding:
    param: str  # AudioSource.A0.AudioEncoding
    media1: str | None  # tt:AudioEncoding (G711 | G726 | AAC); None: Media1 cannot name it
    media2: str  # the RTP name Media2 uses
    bitrate: int  # kbit/s
    sample_rate: int  # kHz


ENCODINGS = (Encoding("g711", "G711", "PCMU", 64, 8), Encoding("aac", "AAC", "mpeg4-generic", 32, 16),
             Encoding("opus", None, "opus", 32, 48))
assert tuple(e.param for e in ENCODINGS) == audio_const.ENCODINGS


def live_audio_uri(host: str, rtsp_port: int) -> str:
    """The microphone's live stream on the device's RTSP server (vigil/features/audio/live.py)."""
    shown = f"[{host}]" if ":" in host else host
    return f"rtsp://{shown}:{rtsp_port}{AXIS_MEDIA}?audio=1"


def config_modify(reason: str) -> Exception:
    return invalid(reason, "ConfigModify")


class AudioModel:
    def __init__(self, audio: AudioService) -> None:
        self.audio = audio

    @property
    def encoding(self) -> Encoding:
        return next(e for e in ENCODINGS if e.param == self.audio.encoding)

    @property
    def output_levels(self) -> tuple[int, int]:
        gains = self.audio.hardware.capabilities.output_gains
        return gains[0], gains[-1]

    # -- the model as XML ----------------------------------------------------------------------
    @staticmethod
    def source(ns: ElementMaker = TT_, tag: str = "AudioSources") -> etree._Element:
        return getattr(ns, tag)(TT_.Channels("1"), token=SOURCE)

    @staticmethod
    def output(ns: ElementMaker = TT_, tag: str = "AudioOutputs") -> etree._Element:
        return getattr(ns, tag)(token=OUTPUT)

    @staticmethod
    def source_configuration(ns: ElementMaker = TT_, tag: str = "AudioSourceConfiguration") -> etree._Element:
        return getattr(ns, tag)(TT_.Name(SOURCE_NAME), TT_.UseCount("1"), TT_.SourceToken(SOURCE), token=SOURCE_CONFIG)

    def encoder1(self, ns: ElementMaker = TT_, tag: str = "AudioEncoderConfiguration") -> etree._Element | None:
        e = self.encoding
        if e.media1 is None:
            return None
        return getattr(ns, tag)(
            TT_.Name(ENCODER_NAME), TT_.UseCount("1"), TT_.Encoding(e.media1), TT_.Bitrate(str(e.bitrate)),
            TT_.SampleRate(str(e.sample_rate)), *no_multicast(), TT_.SessionTimeout(SESSION_TIMEOUT), token=ENCODER)

    def encoder2(self, ns: ElementMaker = TT_, tag: str = "AudioEncoder") -> etree._Element:
        e = self.encoding
        return getattr(ns, tag)(TT_.Name(ENCODER_NAME), TT_.UseCount("1"), TT_.Encoding(e.media2),
                                TT_.Bitrate(str(e.bitrate)), TT_.SampleRate(str(e.sample_rate)), token=ENCODER)

    def output_configuration(self, ns: ElementMaker = TT_, tag: str = "AudioOutputConfiguration") -> etree._Element:
        return getattr(ns, tag)(TT_.Name(OUTPUT_NAME), TT_.UseCount("1"), TT_.OutputToken(OUTPUT),
                                TT_.OutputLevel(str(self.audio.settings().output_gain)), token=OUTPUT_CONFIG)

    @staticmethod
    def decoder_configuration(ns: ElementMaker = TT_, tag: str = "AudioDecoderConfiguration") -> etree._Element:
        return getattr(ns, tag)(TT_.Name(DECODER_NAME), TT_.UseCount("1"), token=DECODER)

    @staticmethod
    def source_options(ns: ElementMaker = TT_, tag: str = "Options") -> etree._Element:
        return getattr(ns, tag)(TT_.InputTokensAvailable(SOURCE))

    @staticmethod
    def encoder1_options(ns: ElementMaker = TT_, tag: str = "Options") -> etree._Element:
        return getattr(ns, tag)(*(TT_.Options(TT_.Encoding(e.media1), TT_.BitrateList(TT_.Items(str(e.bitrate))),
                                              TT_.SampleRateList(TT_.Items(str(e.sample_rate))))
                                  for e in ENCODINGS if e.media1))

    @staticmethod
    def encoder2_options(ns: ElementMaker, tag: str = "Options") -> list[etree._Element]:
        return [getattr(ns, tag)(TT_.Encoding(e.media2), TT_.BitrateList(TT_.Items(str(e.bitrate))),
                                 TT_.SampleRateList(TT_.Items(str(e.sample_rate)))) for e in ENCODINGS]

    def output_options(self, ns: ElementMaker = TT_, tag: str = "Options") -> etree._Element:
        low, high = self.output_levels
        return getattr(ns, tag)(TT_.OutputTokensAvailable(OUTPUT),
                                TT_.OutputLevelRange(TT_.Min(str(low)), TT_.Max(str(high))))

    @staticmethod
    def decoder_options(ns: ElementMaker = TT_, tag: str = "Options") -> etree._Element:
        """What the speaker's decoder takes: G.711 and AAC as the encodings are sent."""
        return getattr(ns, tag)(
            TT_.AACDecOptions(TT_.Bitrate(TT_.Items("32")), TT_.SampleRateRange(TT_.Items("16"))),
            TT_.G711DecOptions(TT_.Bitrate(TT_.Items("64")), TT_.SampleRateRange(TT_.Items("8"))))

    # -- Set... ---------------------------------------------------------------------------------
    def check_token(self, token: str | None, *known: str) -> str:
        if token not in known:
            raise invalid(f"There is no configuration {str(token)[:64]!r}", "NoConfig")
        return token

    def configuration(self, body: etree._Element, token: str, name: str) -> etree._Element:
        """The Configuration of a Set... request, with its token and name checked."""
        config = find(body, "Configuration")
        if config is None:
            raise invalid("Configuration is required")
        self.check_token(config.get("token"), token)
        given = text(config, "Name", limit=64)
        if given is not None and given != name:
            raise config_modify(f"The configuration's name is {name!r} and cannot be changed")
        return config

    def set_source(self, body: etree._Element) -> None:
        config = self.configuration(body, SOURCE_CONFIG, SOURCE_NAME)
        source = text(config, "SourceToken", limit=64)
        if source is not None and source != SOURCE:
            raise config_modify(f"The only audio source is {SOURCE}")

    def set_encoder(self, body: etree._Element, who: Principal, media2: bool) -> None:
        config = self.configuration(body, ENCODER, ENCODER_NAME)
        name = text(config, "Encoding", required=True) or ""
        chosen = next((e for e in ENCODINGS if name in ((e.media2, e.media2.upper()) if media2 else (e.media1,))),
                      None)
        if chosen is None:
            offered = ", ".join(e.media2 if media2 else str(e.media1) for e in ENCODINGS if media2 or e.media1)
            raise config_modify(f"Encoding {name[:40]!r} is not offered: {offered}")
        for element, value, unit in (("Bitrate", chosen.bitrate, "kbit/s"), ("SampleRate", chosen.sample_rate, "kHz")):
            given = text(config, element)
            if given is not None and given != str(value):
                raise config_modify(f"{chosen.media2} is encoded at {value} {unit} only ({element})")
        multicast = find(config, "Multicast")
        if multicast is not None and (text(multicast, "AutoStart") in ("true", "1") or
                                      text(multicast, "Port") not in (None, "0")):
            raise config_modify("Multicast is not offered")
        timeout = text(config, "SessionTimeout")
        if timeout is not None and timeout != SESSION_TIMEOUT:
            raise config_modify(f"The RTSP session timeout is {SESSION_TIMEOUT}")
        self.store({audio_const.ENCODING: chosen.param}, who)

    def set_output(self, body: etree._Element, who: Principal) -> None:
        config = self.configuration(body, OUTPUT_CONFIG, OUTPUT_NAME)
        output = text(config, "OutputToken", limit=64)
        if output is not None and output != OUTPUT:
            raise config_modify(f"The only audio output is {OUTPUT}")
        if find(config, "SendPrimacy") is not None:
            raise config_modify("Half-duplex send primacy is not offered")
        level = text(config, "OutputLevel", required=True) or ""
        low, high = self.output_levels
        if not level.lstrip("-").isdigit() or len(level) > 4 or not low <= int(level) <= high:
            raise config_modify(f"OutputLevel is a gain in dB from {low} to {high}, not {level[:40]!r}")
        self.store({audio_const.OUTPUT_GAIN: str(int(level))}, who)

    def set_decoder(self, body: etree._Element) -> None:
        self.configuration(body, DECODER, DECODER_NAME)

    def store(self, values: dict[str, str], who: Principal) -> None:
        try:
            self.audio.params.update(list(values.items()), who.role, who.name)
        except ParamError as err:
            raise config_modify(str(err)) from None

