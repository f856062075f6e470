"""Detectors for phrasing the original detectors were not written for (issue 17), registered together in
`default_detectors`: names by their frame or their own shape, spoken and ASR-garbled e-mail/UPI/phone numbers,
spoken dates of birth, and addresses abroad."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.pii.addresses_abroad import AbroadAddressDetector
from pipelines.pii.asr_garbles import GarbledEmailDetector, GarbledPhoneDetector, SplitAadhaarDetector
from pipelines.pii.name_bare import BareNameDetector
from pipelines.pii.name_frames import FramedPersonDetector
from pipelines.pii.spoken_dates import SpokenDobDetector
from pipelines.pii.spoken_handles import SpokenHandleDetector

if TYPE_CHECKING:
    from pipelines.pii.entities import Detector


def recall_detectors(default_region: str = "IN") -> tuple[Detector, ...]:
    return (
        FramedPersonDetector(),
        BareNameDetector(),
        SpokenHandleDetector(),
        GarbledEmailDetector(),
        GarbledPhoneDetector(default_region),
        SplitAadhaarDetector(),
        SpokenDobDetector(),
        AbroadAddressDetector(),
    )
