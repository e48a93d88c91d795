"""Parameter names, choices and API error codes of the audio feature."""

from __future__ import annotations

# Audio > Device settings and Stream (param.cgi; the Audio Device Control API maps onto them)
INPUT_ENABLED = "Audio.A0.Enabled"
INPUT_GAIN = "AudioSource.A0.InputGain"
INPUT_MUTE = "AudioSource.A0.InputMute"
INPUT_TYPE = "AudioSource.A0.InputType"
POWER_TYPE = "AudioSource.A0.MicrophonePowerType"
OUTPUT_GAIN = "AudioSource.A0.OutputGain"
OUTPUT_MUTE = "AudioSource.A0.OutputMute"
ENCODING = "AudioSource.A0.AudioEncoding"
ECHO_CANCELLATION = "AudioSource.A0.EchoCancellation"
SETTINGS = (INPUT_ENABLED, INPUT_GAIN, INPUT_MUTE, INPUT_TYPE, POWER_TYPE, OUTPUT_GAIN, OUTPUT_MUTE,
            ECHO_CANCELLATION)

ENCODINGS = ("g711", "aac", "opus")  # what the input stream can be encoded as

# Detectors > Audio detection: the level (0-100) above which the input triggers, and its event
ALARM_LEVEL = "AudioSource.A0.AlarmLevel"
TRIGGER_LEVEL = "tns1:AudioSource/tnsaxis:TriggerLevel"
DETECTION_PATH = "/vigil/audio/detection"  # JSON: the live level, the alarm level, triggered or not

# Speaker test (VAPIX Auto speaker test service API) and Locate device
SPEAKER_TEST_PATH = "/vapix/axast"
SPEAKER_TEST_RESULT = "tns1:Device/tnsaxis:SpeakerTest/TestResult"
SPEAKER_TEST_ACTION = "com.axis.action.fixed.autospeakertest.performtest"
LOCATE_PATH = "/vigil/audio/locate"
RECORDING_PATH = "/vigil/audio/recording"  # Listen and record: continuous recording on or off
RECORDINGS_PATH = "/vigil/audio/recordings"

# Listen (VAPIX Audio API): the input over HTTP
RECEIVE_PATH = "/axis-cgi/audio/receive.cgi"
MAX_LISTENERS = "Audio.MaxListeners"

DEVICE_ID = "0"  # Audio Device Control: the device, its input and its output
INPUT_ID = "0"
OUTPUT_ID = "0"
DEVICE_NAME = "Built-in audio device"
INPUT_NAME = "Microphone"
OUTPUT_NAME = "Speaker"
SIGNALING = "unbalanced"
CHANNEL = 0

# Audio Device Control (/axis-cgi/audiodevicecontrol.cgi)
ADC_PATH = "/axis-cgi/audiodevicecontrol.cgi"
ADC_VERSIONS = ["1.0"]
