"""Builders of generated phone extractions and cloud returns, benign pictures only.

Each follows the documented layout of its kind (see the module docstrings of
``vigil.sources.ufdr``, ``ios_backup``, ``android``, ``takeout``) and returns the
pictures it wrote, by name, so tests can state exact expectations.
"""

from __future__ import annotations

import hashlib
import io
import plistlib
import sqlite3
import struct
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hashes import SHA1, SHA256
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from vigil.demo import draw_landscape

T0 = int(datetime(2021, 5, 1, 10, 0, tzinfo=UTC).timestamp())


def picture(seed: int, fmt: str = "JPEG", size: tuple[int, int] = (96, 72)) -> bytes:
    """A generated landscape picture's bytes."""
    out = io.BytesIO()
    draw_landscape(seed, size).save(out, fmt)
    return out.getvalue()


# --- iOS backup ------------------------------------------------------------------------


def mbfile_blob(
    relative: str,
    size: int,
    modified: int,
    birth: int,
    inode: int,
    encryption_key: bytes | None = None,
) -> bytes:
    """The NSKeyedArchiver plist of one MBFile record, as in Manifest.db's ``file`` column.

    ``encryption_key`` (class, little-endian, then the wrapped file key) for an encrypted
    backup: an ``NSMutableData`` object the record points at.
    """
    archive = {
        "$version": 100000,
        "$archiver": "NSKeyedArchiver",
        "$top": {"root": plistlib.UID(1)},
        "$objects": [
            "$null",
            {
                "$class": plistlib.UID(3),
                "RelativePath": plistlib.UID(2),
                "Size": size,
                "LastModified": modified,
                "Birth": birth,
                "LastStatusChange": modified,
                "InodeNumber": inode,
                "Mode": 0o100644,
                "UserID": 501,
                "GroupID": 501,
                "Flags": 0,
                "ProtectionClass": 3,
            },
            relative,
            {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]},
        ],
    }
    if encryption_key is not None:
        objects = archive["$objects"]
        objects[1]["EncryptionKey"] = plistlib.UID(4)
        objects.append({"NS.data": encryption_key, "$class": plistlib.UID(5)})
        objects.append({"$classname": "NSMutableData", "$classes": ["NSMutableData", "NSData"]})
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def file_id(domain: str, relative: str) -> str:
    return hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()


IOS_FILES = [
    ("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0001.JPG", 1),
    ("CameraRollDomain", "Media/PhotoData/Thumbnails/V2/DCIM/100APPLE/IMG_0001.JPG/5005.JPG", 2),
    ("AppDomainGroup-group.net.whatsapp.WhatsApp.shared", "Message/Media/a/b/IMG-1.jpg", 3),
    ("HomeDomain", "Library/Preferences/com.example.settings.plist", None),
]
# Listed in the manifest, absent from the folder.
IOS_MISSING = ("CameraRollDomain", "Media/DCIM/100APPLE/IMG_0002.JPG")
# In the folder, not in the manifest.
IOS_ORPHAN = "ff/" + "f" * 40


# Keybag iteration counts of the generated encrypted backup (Apple: 10,000,000 / 10,000);
# small so that a test derives the key in milliseconds.
DPIC, ITER = 1000, 10
PROTECTION = 3  # NSFileProtectionCompleteUntilFirstUserAuthentication
MANIFEST_CLASS = 4


def _key(label: str) -> bytes:
    """A fixed 32-byte key (the fixture is the same on every run)."""
    return hashlib.sha256(b"vigil test keybag " + label.encode()).digest()


def _tlv(tag: bytes, value: bytes | int) -> bytes:
    if isinstance(value, int):
        value = struct.pack(">I", value)
    return tag + struct.pack(">I", len(value)) + value


def passcode_key(password: bytes) -> bytes:
    """The keybag's passcode key: PBKDF2-SHA256 (DPSL, DPIC), then PBKDF2-SHA1 (SALT, ITER)."""
    first = PBKDF2HMAC(SHA256(), 32, _key("dpsl")[:20], DPIC).derive(password)
    return PBKDF2HMAC(SHA1(), 32, _key("salt")[:20], ITER).derive(first)


def keybag(password: bytes) -> bytes:
    """A backup keybag (TLV) whose class keys 1-11 are wrapped with the password's key."""
    out = _tlv(b"VERS", 4) + _tlv(b"TYPE", 1) + _tlv(b"UUID", _key("bag")[:16])
    out += _tlv(b"HMCK", bytes(40)) + _tlv(b"WRAP", 0) + _tlv(b"SALT", _key("salt")[:20])
    out += _tlv(b"ITER", ITER) + _tlv(b"DPWT", 1) + _tlv(b"DPIC", DPIC)
    out += _tlv(b"DPSL", _key("dpsl")[:20])
    kek = passcode_key(password)
    for protection in range(1, 12):
        out += _tlv(b"UUID", _key(f"uuid{protection}")[:16]) + _tlv(b"CLAS", protection)
        out += _tlv(b"WRAP", 2) + _tlv(b"KTYP", 0)
        out += _tlv(b"WPKY", aes_key_wrap(kek, _key(f"class{protection}")))
    return out


def encrypt(data: bytes, key: bytes) -> bytes:
    """AES-256-CBC, zero IV, PKCS#7 padding: how the backup stores a file."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return enc.update(padded) + enc.finalize()


def wrapped_key(protection: int, key: bytes) -> bytes:
    """``class (LE) + wrapped key``, as ManifestKey and MBFile.EncryptionKey hold it."""
    return struct.pack("<I", protection) + aes_key_wrap(_key(f"class{protection}"), key)


def build_ios_backup(root: Path, password: bytes | None = None) -> dict[str, bytes]:
    """An iTunes-style backup folder; returns ``{domain/relativePath: plain bytes}``.

    With ``password`` the backup is encrypted as iOS 10.2+ does it (``ios_crypto``): each
    file with its own key, Manifest.db with the ManifestKey, keys in the keybag.
    """
    root.mkdir(parents=True)
    manifest: dict = {
        "IsEncrypted": password is not None,
        "Version": "10.0",
        "Lockdown": {"ProductVersion": "17.2"},
    }
    if password is not None:
        manifest["BackupKeyBag"] = keybag(password)
        manifest["ManifestKey"] = wrapped_key(MANIFEST_CLASS, _key("manifest"))
    (root / "Manifest.plist").write_bytes(plistlib.dumps(manifest))
    (root / "Info.plist").write_bytes(plistlib.dumps({"Device Name": "Test phone"}))
    db = sqlite3.connect(root / "Manifest.db")
    db.execute(
        "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
        "flags INTEGER, file BLOB)"
    )
    db.execute("CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB)")
    written: dict[str, bytes] = {}
    for n, (domain, relative, seed) in enumerate(IOS_FILES):
        data = picture(seed) if seed is not None else b"<plist>benign settings</plist>\n"
        fid = file_id(domain, relative)
        (root / fid[:2]).mkdir(exist_ok=True)
        stored, encryption_key = data, None
        if password is not None:
            stored = encrypt(data, _key(fid))
            encryption_key = wrapped_key(PROTECTION, _key(fid))
        (root / fid[:2] / fid).write_bytes(stored)
        blob = mbfile_blob(
            relative, len(data), T0 + 60 * n, T0 - 3600, 1000 + n, encryption_key
        )
        db.execute("INSERT INTO Files VALUES (?, ?, ?, 1, ?)", (fid, domain, relative, blob))
        written[f"{domain}/{relative}"] = data
    db.execute(
        "INSERT INTO Files VALUES (?, 'CameraRollDomain', 'Media/DCIM/100APPLE', 2, NULL)",
        (file_id("CameraRollDomain", "Media/DCIM/100APPLE"),),
    )
    domain, relative = IOS_MISSING
    db.execute(
        "INSERT INTO Files VALUES (?, ?, ?, 1, ?)",
        (file_id(domain, relative), domain, relative, mbfile_blob(relative, 10, T0, T0, 9)),
    )
    db.commit()
    db.close()
    if password is not None:
        plain = (root / "Manifest.db").read_bytes()
        (root / "Manifest.db").write_bytes(encrypt(plain, _key("manifest")))
    (root / "ff").mkdir(exist_ok=True)
    (root / IOS_ORPHAN).write_bytes(picture(4))
    written[IOS_ORPHAN] = picture(4)
    return written


# --- UFDR ------------------------------------------------------------------------------

NS = "http://pa.cellebrite.com/report/2.0"
# (device path, Local Path in the archive or None, seed, deleted state, file id)
UFDR_FILES = [
    ("/private/var/mobile/Media/DCIM/100APPLE/IMG_0001.JPG", "files\\Image\\IMG_0001.JPG", 1,
     "Intact", "f-1"),
    ("/private/var/mobile/Containers/Shared/AppGroup/W/Message/Media/IMG-1.jpg",
     "files\\Image\\IMG-1.jpg", 2, "Deleted", "f-2"),
    ("/private/var/mobile/Media/DCIM/100APPLE/IMG_0003.JPG", "files\\Image\\IMG_0003.JPG", 3,
     "Intact", "f-3"),
    ("/private/var/mobile/Media/DCIM/100APPLE/IMG_0004.JPG", None, None, "Deleted", "f-4"),
]
UFDR_EXTRA = "files/Image/not-in-report.png"


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def report_xml() -> str:
    """A report.xml in Cellebrite's schema for UFDR_FILES."""
    files = []
    for n, (device, local, seed, deleted, fid) in enumerate(UFDR_FILES):
        size = len(picture(seed)) if seed is not None else 0
        meta = f'<item name="Local Path"><![CDATA[{local}]]></item>' if local else ""
        files.append(
            f'<file fs="Apple iPhone File System" fsid="fs-0" path="{device}" size="{size}" '
            f'id="{fid}" extractionId="0" deleted="{deleted}" embedded="false">'
            "<accessInfo>"
            f'<timestamp name="CreationTime" format="TimeStampKnown">{_iso(T0 + n)}</timestamp>'
            f'<timestamp name="ModifyTime" format="TimeStampKnown">{_iso(T0 + 60 + n)}</timestamp>'
            f'<timestamp name="AccessTime" format="TimeStampKnown">{_iso(T0 + 120 + n)}</timestamp>'
            "</accessInfo>"
            f'<metadata section="File">{meta}<item name="Tags"><![CDATA[Image]]></item></metadata>'
            "</file>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<project id="p-1" name="PHONE-1" reportVersion="7.60.0.0" xmlns="{NS}">'
        '<sourceExtractions><extractionInfo id="0" name="Apple iPhone (File System)" '
        'type="FileSystem" deviceName="iPhone" index="0" /></sourceExtractions>'
        '<metadata section="Additional Fields">'
        '<item name="UFED_PA_Version"><![CDATA[7.61.0.27]]></item></metadata>'
        '<metadata section="Extraction Data">'
        '<item name="DeviceInfoUnitIdentifier" sourceExtraction="0"><![CDATA[1234567]]></item>'
        '<item name="DeviceInfoUnitVersion" sourceExtraction="0"><![CDATA[7.60.0.109]]></item>'
        '<item name="DeviceInfoSelectedManufacturer" sourceExtraction="0">'
        "<![CDATA[Apple]]></item>"
        '<item name="DeviceInfoSelectedDeviceName" sourceExtraction="0">'
        "<![CDATA[iPhone 12]]></item></metadata>"
        '<metadata section="Device Info">'
        '<item name="DeviceInfoDetectedManufacturer"><![CDATA[Apple]]></item>'
        '<item name="DeviceInfoDetectedModel"><![CDATA[iPhone 12 (A2403)]]></item></metadata>'
        f"<taggedFiles>{''.join(files)}</taggedFiles>"
        "<decodedData>"
        '<modelType type="Chat"><model type="Chat" id="c-1" deleted_state="Intact">'
        '<field name="Source" type="String"><value type="String">WhatsApp</value></field>'
        '<multiModelField name="Messages"><model type="InstantMessage" id="m-1">'
        '<multiModelField name="Attachments"><model type="Attachment" id="a-1">'
        '<field name="Filename" type="String"><value type="String">IMG-1.jpg</value></field>'
        '<jumptargets><targetid ismodel="false">f-2</targetid></jumptargets>'
        "</model></multiModelField></model></multiModelField></model></modelType>"
        "</decodedData></project>"
    )


def build_ufdr_of(path: Path, files: dict[str, bytes]) -> None:
    """A UFDR of ``{device path: bytes}``: each stored as ``files/Media/<n>_<name>``."""
    entries, stored = [], {}
    for n, (device, data) in enumerate(files.items()):
        local = f"files/Media/{n:03d}_{device.rsplit('/', 1)[-1]}"
        stored[local] = data
        entries.append(
            f'<file fs="Apple iPhone File System" path="{device}" size="{len(data)}" id="g-{n}" '
            f'deleted="Intact"><metadata section="File"><item name="Local Path"><![CDATA['
            f"{local.replace('/', chr(92))}]]></item></metadata></file>"
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(
            "report.xml",
            f'<?xml version="1.0" encoding="utf-8"?><project reportVersion="7.60.0.0" '
            f'xmlns="{NS}"><taggedFiles>{"".join(entries)}</taggedFiles></project>',
        )
        for local, data in stored.items():
            zf.writestr(local, data)


def build_ufdr(path: Path) -> dict[str, bytes]:
    """A UFDR zip: report.xml first, then the files it names (but IMG_0003), plus one extra.

    Returns ``{name in the archive: bytes}`` of the pictures stored.
    """
    stored: dict[str, bytes] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("report.xml", report_xml())
        for _device, local, seed, _deleted, _fid in UFDR_FILES:
            if local is None or local.endswith("IMG_0003.JPG"):
                continue
            name = local.replace("\\", "/")
            stored[name] = picture(seed)
            zf.writestr(name, stored[name])
        stored[UFDR_EXTRA] = picture(5, "PNG")
        zf.writestr(UFDR_EXTRA, stored[UFDR_EXTRA])
    return stored


# --- Android ---------------------------------------------------------------------------

ANDROID_FILES = [
    ("data/media/0/DCIM/Camera/IMG_20210501.jpg", 1),
    ("data/media/0/WhatsApp/Media/WhatsApp Images/IMG-20210501-WA0001.jpg", 2),
    ("data/data/org.telegram.messenger/cache/1_2.jpg", 3),
    # The same file again through the /sdcard alias (one item), and one only there.
    ("sdcard/DCIM/Camera/IMG_20210501.jpg", 1),
    ("sdcard/Pictures/Screenshots/Screenshot_1.png", 4),
]


def _android_bytes(seed: int, name: str) -> bytes:
    return picture(seed, "PNG" if name.endswith(".png") else "JPEG")


def build_android_tar(path: Path, root: str = "") -> dict[str, bytes]:
    """An Android file-system tar (``root`` wraps it); returns ``{archive name: bytes}``."""
    written: dict[str, bytes] = {}
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tf:
        for name, seed in ANDROID_FILES:
            data = _android_bytes(seed, name)
            info = tarfile.TarInfo(root + name)
            info.size, info.mtime = len(data), T0
            tf.addfile(info, io.BytesIO(data))
            written[root + name] = data
        link = tarfile.TarInfo(root + "storage/self/primary")
        link.type, link.linkname, link.mtime = tarfile.SYMTYPE, "/data/media/0", T0
        tf.addfile(link)
    return written


def build_android_zip(path: Path, root: str = "Dump/") -> dict[str, bytes]:
    """The same tree as a zip (as some tools write it), under ``root``."""
    written: dict[str, bytes] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, seed in ANDROID_FILES:
            data = _android_bytes(seed, name)
            info = zipfile.ZipInfo(root + name, (2021, 5, 1, 10, 0, 0))
            zf.writestr(info, data)
            written[root + name] = data
    return written


# --- Google Takeout --------------------------------------------------------------------

TAKEOUT_DIR = "Takeout/Google Photos/Photos from 2019/"
# (file, sidecar name, photoTakenTime)
TAKEOUT_FILES = [
    ("IMG_0001.jpg", "IMG_0001.jpg.json", 1556000000),
    ("IMG_0001(1).jpg", "IMG_0001.jpg(1).json", 1556000100),
    ("IMG_0002.jpg", "IMG_0002.jpg.supplemental-metadata.json", 1556000200),
    ("IMG_0002-edited.jpg", None, 1556000200),
]


def build_takeout(path: Path) -> dict[str, bytes]:
    """A Takeout zip with sidecars; returns ``{archive name: bytes}`` of every file."""
    written: dict[str, bytes] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (name, sidecar, taken) in enumerate(TAKEOUT_FILES):
            written[TAKEOUT_DIR + name] = picture(10 + n)
            if sidecar is not None:
                title = name.replace("(1)", "")
                written[TAKEOUT_DIR + sidecar] = (
                    f'{{"title": "{title}", "photoTakenTime": {{"timestamp": "{taken}", '
                    f'"formatted": "benign"}}, "creationTime": {{"timestamp": "{taken + 5}"}}}}'
                ).encode()
        written["Takeout/archive_browser.html"] = b"<html>Takeout</html>\n"
        for name, data in written.items():
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 6)), data)
    return written


# --- iCloud Photos download ------------------------------------------------------------

ICLOUD_PART = "iCloud Photos Part 1 of 2/"
# (folder, file, originalCreationDate, deleted column)
ICLOUD_FILES = [
    ("Photos/", "IMG_0101.JPG", "Saturday June 4,2022 12:11 PM GMT", "no"),
    ("Photos/", "IMG_0102.PNG", "Monday January 15,2024 9:30 AM GMT", "no"),
    ("Photos/", "IMG_0103.JPG", "not a date", "no"),
    ("Recently Deleted/", "IMG_0104.JPG", "Friday December 31,2021 11:59 PM GMT", "yes"),
]


def build_icloud(path: Path) -> dict[str, bytes]:
    """An iCloud Photos download zip; returns ``{archive name: bytes}`` of every file.

    The last picture's row is in ``Photo Details-1.csv``; one picture has no row.
    """
    written: dict[str, bytes] = {}
    header = (
        "imgName,fileChecksum,favorite,hidden,deleted,originalCreationDate,viewCount,importDate\n"
    )
    rows = []
    for n, (folder, name, when, deleted) in enumerate(ICLOUD_FILES):
        fmt = "PNG" if name.endswith(".PNG") else "JPEG"
        written[ICLOUD_PART + folder + name] = picture(30 + n, fmt)
        rows.append(f'{name},AbC{n}+x/Yz,no,no,{deleted},"{when}",{n},"{when}"\n')
    written[ICLOUD_PART + "Photos/IMG_0105.JPG"] = picture(35)
    written[ICLOUD_PART + "Photos/Photo Details.csv"] = (header + "".join(rows[:3])).encode()
    written[ICLOUD_PART + "Photos/Photo Details-1.csv"] = (header + rows[3]).encode()
    written[ICLOUD_PART + "Albums/Trip.csv"] = b"Images\nIMG_0101.JPG\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in written.items():
            zf.writestr(zipfile.ZipInfo(name, (2024, 3, 1, 8, 0, 0)), data)
    return written
