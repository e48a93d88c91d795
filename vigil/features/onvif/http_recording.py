"""The ONVIF recording control service (`trc`, /onvif/recording_service; Profile G) of a recorder,
over the recording feature's camera sources.

Each recorded camera is one recording (`recording_N`, N its camera number, as the search service
shows it) with one video track (`video`). Its recording job (`job_N`) is the recorder's recording
of that camera: the job exists while the recorder receives the camera (the source is enabled:
the job's source is the camera's media profile `profile_N`, its "receiver" the recorder's camera
connection), and its mode is the source's continuous recording: Active records continuously,
Idle stops that (rule-triggered and manual recordings go on). SetRecordingJobMode,
CreateRecordingJob and DeleteRecordingJob change the source as the recorder API (recorder.cgi
setSource) does, so the Recordings page, `record/list.cgi` and `recorder.cgi` show the change;
each writes the audit log. Recordings and tracks are the cameras' own: CreateRecording,
CreateTrack, DeleteRecording and DeleteTrack answer the spec's faults (cameras are added and
removed as camera sources). Each job's state (Idle, Active, Error) is the property
`tns1:RecordingConfig/JobState`, published as it changes (mode, camera connection, recording)."""

from __future__ import annotations

from dataclasses import replace

from lxml import etree
from lxml.builder import ElementMaker

from vigil.core.auth import Principal
from vigil.core.events import Event, EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.features.onvif.const import ACTUATE, PRE_AUTH, READ_MEDIA, TER, TRC, TT
from vigil.features.onvif.endpoint import OnvifEndpoint
from vigil.features.onvif.event_search import VIDEO_TRACK, recording_token
from vigil.features.onvif.media import Camera, cameras
from vigil.features.onvif.xml import TT_, find, find_all, flag, invalid, text
from vigil.features.recording.recorder import CONNECTION, RECORDING, RecordingService
from vigil.http.soap import SoapFault, SoapMessage

TRC_ = ElementMaker(namespace=TRC, nsmap={"trc": TRC})
PROFILE_SOURCE = "http://www.onvif.org/ver10/schema/Profile"
RECEIVER_SOURCE = "http://www.onvif.org/ver10/schema/Receiver"
MODES = ("Idle", "Active")
PRIORITY = "1"  # one job per recording: its priority decides nothing, and is reported as this
JOB_STATE = "tns1:RecordingConfig/JobState"


def job_token(camera: Camera) -> str:
    return f"job_{camera.number}"


def action_fault(reason: str, subcode: str) -> SoapFault:
    """Receiver / ter:Action / ter:<subcode>: the device cannot do what is asked."""
    return SoapFault(reason, "Receiver", (etree.QName(TER, "Action"), etree.QName(TER, subcode)))


class RecordingControl:
    def __init__(self, recording: RecordingService, logs: Logs, bus: EventBus) -> None:
        self.recording = recording
        self.logs = logs
        self.bus = bus
        self._declared: tuple[str, ...] | None = None

    # -- the JobState events ------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """Bus subscriber: a camera's connection or recording changed, and with it its job's state."""
        if event.topic in (CONNECTION, RECORDING):
            self.publish_states()

    def publish_states(self) -> None:
        """Publish each job's state (the bus keeps only changes); a job gone is a deleted property."""
        jobs = {job_token(c): c for c in cameras(self.recording) if self._has_job(c)}
        if self._declared != tuple(jobs):
            self._declared = tuple(jobs)
            self.bus.declare(Topic(JOB_STATE, "Recording job state", True,
                                   (Item("RecordingJobToken", "tt:RecordingJobReference", "Recording job",
                                         tuple(jobs)),),
                                   (Item("State", "xsd:string", "State", ("Idle", "Active", "Error"), state=True),)))
        for event in self.bus.states(JOB_STATE):
            if event.source.get("RecordingJobToken") not in jobs:
                self.bus.delete(JOB_STATE, event.source)
        for token, camera in jobs.items():
            self.bus.publish(JOB_STATE, {"RecordingJobToken": token}, {"State": self._state(camera)[0]})

    # -- the model ----------------------------------------------------------------------------
    def _camera(self, token: str | None) -> Camera:
        found = next((c for c in cameras(self.recording) if recording_token(c) == token), None)
        if found is None:
            raise invalid(f"There is no recording {str(token)[:64]!r}", "NoRecording")
        return found

    def _job(self, msg: SoapMessage) -> Camera:
        token = text(msg.body, "JobToken", required=True, limit=64)
        found = next((c for c in cameras(self.recording) if job_token(c) == token and self._has_job(c)), None)
        if found is None:
            raise invalid(f"There is no recording job {str(token)[:64]!r}", "NoRecordingJob")
        return found

    def _has_job(self, camera: Camera) -> bool:
        return self.recording.sources.all[camera.source_id].enabled

    def _mode(self, camera: Camera) -> str:
        return "Active" if self.recording.sources.all[camera.source_id].continuous else "Idle"

    def configuration(self, camera: Camera) -> etree._Element:
        source = self.recording.sources.all[camera.source_id]
        days = source.retention_days
        return TT_.RecordingConfiguration(
            TT_.Source(TT_.SourceId(camera.video_source), TT_.Name(camera.name), TT_.Location(""),
                       TT_.Description(f"Camera {camera.number} of the recorder"), TT_.Address(camera.source_id)),
            TT_.Content(camera.name), TT_.MaximumRetentionTime(f"P{days}D" if days else "PT0S"))

    @staticmethod
    def track() -> etree._Element:
        return TT_.TrackConfiguration(TT_.TrackType("Video"), TT_.Description("Video"))

    def job_configuration(self, camera: Camera) -> etree._Element:
        return TT_.JobConfiguration(
            TT_.RecordingToken(recording_token(camera)), TT_.Mode(self._mode(camera)), TT_.Priority(PRIORITY),
            TT_.Source(TT_.SourceToken(TT_.Token(camera.profile), Type=PROFILE_SOURCE),
                       TT_.Tracks(TT_.SourceTag(VIDEO_TRACK), TT_.Destination(VIDEO_TRACK))))

    def _state(self, camera: Camera) -> tuple[str, str | None]:
        """The job's track state (Idle, Active or Error) and why it is in error."""
        if self._mode(camera) == "Idle":
            return "Idle", None
        recorder = self.recording.recorders.get(camera.source_id)
        error = self.recording.write_failures.error_of(camera.source_id)
        if recorder is None or not recorder.connected:
            return "Error", "The camera is not connected"
        if error:
            return "Error", error
        continuous = any(s == camera.source_id and k == "continuous" for s, _r, k in self.recording.ongoing())
        return ("Active", None) if continuous else ("Error", "The recording cannot start (see the system log)")

    def _checked_job(self, given: etree._Element | None, camera: Camera | None = None) -> tuple[Camera, str]:
        """The camera and mode of a tt:RecordingJobConfiguration this device can run: one job per
        recording, its source the recording's camera (its media profile, or a receiver made for it)."""
        if given is None:
            raise invalid("JobConfiguration is required", "BadConfiguration")
        chosen = self._camera(text(given, "RecordingToken", required=True, limit=64))
        if camera is not None and chosen != camera:
            raise invalid("A recording job's RecordingToken cannot change", "BadConfiguration")
        mode = text(given, "Mode", required=True, limit=64)
        if mode not in MODES:
            raise invalid(f"Mode must be Idle or Active, not {str(mode)[:40]!r}", "BadConfiguration")
        priority = text(given, "Priority", required=True, limit=64) or ""
        if not priority.isascii() or not priority.isdigit() or len(priority) > 9:
            raise invalid(f"Priority must be a whole number of 0 or more, not {priority[:40]!r}", "BadConfiguration")
        sources = find_all(given, "Source")
        if not sources:
            raise invalid("A recording job needs a Source: the recording's media profile, or AutoCreateReceiver",
                          "BadConfiguration")
        for source in sources:
            token = text(source, "SourceToken", "Token", limit=64)
            reference = find(source, "SourceToken")
            kind = reference.get("Type", RECEIVER_SOURCE) if reference is not None else RECEIVER_SOURCE
            if token is None and not flag(source, "AutoCreateReceiver"):
                raise invalid("A job source needs a SourceToken or AutoCreateReceiver", "BadConfiguration")
            if token is not None and (kind != PROFILE_SOURCE or token != chosen.profile):
                raise invalid(f"{recording_token(chosen)} records only its camera's media profile {chosen.profile}",
                              "BadConfiguration")
            for destination in (text(t, "Destination", limit=64) for t in find_all(source, "Tracks")):
                if destination != VIDEO_TRACK:
                    raise invalid(f"{recording_token(chosen)} has only the track {VIDEO_TRACK}", "BadConfiguration")
        return chosen, mode

    async def _set(self, camera: Camera, who: Principal, mode: str | None, has_job: bool, what: str) -> None:
        """Apply a job change to the camera's source (as recorder.cgi setSource would) and audit it."""
        source = self.recording.sources.all[camera.source_id]
        if has_job != source.enabled:  # the camera connection starts or stops with the job
            source = replace(source, enabled=has_job, continuous=mode == "Active" if mode else source.continuous)
            self.recording.sources.put(source, who.name)
            await self.recording.reconfigure(source.id)
        elif mode is not None and (mode == "Active") != source.continuous:
            self.recording.set_continuous(source.id, mode == "Active", who.name)
        self.logs.audit(who.name, f"ONVIF recording job {job_token(camera)} of camera {camera.source_id}: {what}",
                        "recording")
        self.publish_states()

    # -- operations ----------------------------------------------------------------------------
    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRC_.GetServiceCapabilitiesResponse(recording_capabilities(len(self.recording.sources.all)))

    async def get_recordings(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = TRC_.GetRecordingsResponse()
        for camera in cameras(self.recording):
            configuration = self.configuration(camera)
            configuration.tag = f"{{{TT}}}Configuration"
            track_configuration = self.track()
            track_configuration.tag = configuration.tag
            response.append(TRC_.RecordingItem(
                TT_.RecordingToken(recording_token(camera)), configuration,
                TT_.Tracks(TT_.Track(TT_.TrackToken(VIDEO_TRACK), track_configuration))))
        return response

    async def get_recording_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._camera(text(msg.body, "RecordingToken", required=True, limit=64))
        configuration = self.configuration(camera)
        configuration.tag = f"{{{TRC}}}RecordingConfiguration"
        return TRC_.GetRecordingConfigurationResponse(configuration)

    async def get_track_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self._camera(text(msg.body, "RecordingToken", required=True, limit=64))
        track = text(msg.body, "TrackToken", required=True, limit=64)
        if track != VIDEO_TRACK:
            raise invalid(f"There is no track {str(track)[:64]!r}", "NoTrack")
        configuration = self.track()
        configuration.tag = f"{{{TRC}}}TrackConfiguration"
        return TRC_.GetTrackConfigurationResponse(configuration)

    async def get_recording_jobs(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRC_.GetRecordingJobsResponse(*(
            TRC_.JobItem(TT_.JobToken(job_token(c)), self.job_configuration(c))
            for c in cameras(self.recording) if self._has_job(c)))

    async def get_recording_job_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        configuration = self.job_configuration(self._job(msg))
        configuration.tag = f"{{{TRC}}}JobConfiguration"
        return TRC_.GetRecordingJobConfigurationResponse(configuration)

    async def get_recording_job_state(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._job(msg)
        state, error = self._state(camera)
        track = TT_.Track(TT_.SourceTag(VIDEO_TRACK), TT_.Destination(VIDEO_TRACK),
                          *([TT_.Error(error)] if error else []), TT_.State(state))
        return TRC_.GetRecordingJobStateResponse(TRC_.State(
            TT_.RecordingToken(recording_token(camera)), TT_.State(state),
            TT_.Sources(TT_.SourceToken(TT_.Token(camera.profile), Type=PROFILE_SOURCE), TT_.State(state),
                        TT_.Tracks(track))))

    async def get_recording_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._camera(text(msg.body, "RecordingToken", required=True, limit=64))
        spare = "0" if self._has_job(camera) else "1"
        return TRC_.GetRecordingOptionsResponse(TRC_.Options(
            TRC_.Job(Spare=spare, CompatibleSources=camera.profile),
            TRC_.Track(SpareTotal="0", SpareVideo="0", SpareAudio="0", SpareMetadata="0")))

    async def set_recording_job_mode(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._job(msg)
        mode = text(msg.body, "Mode", required=True, limit=64)
        if mode not in MODES:
            raise invalid(f"Mode must be Idle or Active, not {str(mode)[:40]!r}", "BadMode")
        await self._set(camera, who, mode, True, f"mode {mode}")
        return TRC_.SetRecordingJobModeResponse()

    async def create_recording_job(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera, mode = self._checked_job(find(msg.body, "JobConfiguration"))
        if self._has_job(camera):
            raise action_fault(f"{recording_token(camera)} has its recording job {job_token(camera)} already "
                               "(one per recording)", "MaxRecordingJobs")
        await self._set(camera, who, mode, True, f"created, mode {mode}")
        configuration = self.job_configuration(camera)
        configuration.tag = f"{{{TRC}}}JobConfiguration"
        return TRC_.CreateRecordingJobResponse(TRC_.JobToken(job_token(camera)), configuration)

    async def delete_recording_job(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._job(msg)
        await self._set(camera, who, None, False, "deleted (the camera is no longer received)")
        return TRC_.DeleteRecordingJobResponse()

    async def create_recording(self, msg: SoapMessage, who: Principal) -> etree._Element:
        raise action_fault("Each camera source is a recording: add a camera source to add one", "MaxRecordings")

    async def create_track(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self._camera(text(msg.body, "RecordingToken", required=True, limit=64))
        raise action_fault("A recording has its camera's video track only", "MaxTracks")

    async def delete_recording(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self._camera(text(msg.body, "RecordingToken", required=True, limit=64))
        raise action_fault("A camera's recording goes with its camera source: remove the source", "CannotDelete")

    async def delete_track(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self._camera(text(msg.body, "RecordingToken", required=True, limit=64))
        raise action_fault("A recording's video track cannot be deleted", "CannotDelete")


def recording_capabilities(recordings: int) -> etree._Element:
    return TRC_.Capabilities(DynamicRecordings="false", DynamicTracks="false", Encoding="H264 H265",
                             MaxRecordings=str(recordings), MaxRecordingJobs=str(recordings), Options="true",
                             MetadataRecording="false")


def register(endpoint: OnvifEndpoint, service: RecordingControl) -> None:
    for name, access, handler in (
        ("GetServiceCapabilities", PRE_AUTH, service.get_service_capabilities),
        ("GetRecordings", READ_MEDIA, service.get_recordings),
        ("GetRecordingConfiguration", READ_MEDIA, service.get_recording_configuration),
        ("GetTrackConfiguration", READ_MEDIA, service.get_track_configuration),
        ("GetRecordingJobs", READ_MEDIA, service.get_recording_jobs),
        ("GetRecordingJobConfiguration", READ_MEDIA, service.get_recording_job_configuration),
        ("GetRecordingJobState", READ_MEDIA, service.get_recording_job_state),
        ("GetRecordingOptions", READ_MEDIA, service.get_recording_options),
        ("SetRecordingJobMode", ACTUATE, service.set_recording_job_mode),
        ("CreateRecordingJob", ACTUATE, service.create_recording_job),
        ("DeleteRecordingJob", ACTUATE, service.delete_recording_job),
        ("CreateRecording", ACTUATE, service.create_recording),
        ("CreateTrack", ACTUATE, service.create_track),
        ("DeleteRecording", ACTUATE, service.delete_recording),
        ("DeleteTrack", ACTUATE, service.delete_track),
    ):
        endpoint.add(TRC, name, access, handler)
