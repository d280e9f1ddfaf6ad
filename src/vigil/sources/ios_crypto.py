"""Decryption of an encrypted iTunes/Finder backup (iOS 10.2 and later) with its password.

The scheme, as Apple's iOS Security Guide and the iphone-dataprotection research describe
it: ``Manifest.plist`` holds ``BackupKeyBag``, a TLV keybag (4-byte tag, 4-byte big-endian
length, value) whose header gives ``SALT``/``ITER`` and ``DPSL``/``DPIC``, followed by one
block per protection class (``UUID``, ``CLAS``, ``WRAP``, ``KTYP``, ``WPKY``). The
passcode key is PBKDF2-HMAC-SHA256(password, DPSL, DPIC) fed to PBKDF2-HMAC-SHA1(.., SALT,
ITER), 32 bytes each. Each class key whose ``WRAP`` has bit 2 is ``WPKY`` unwrapped with
it (RFC 3394 AES key wrap). ``ManifestKey`` (4-byte little-endian class, wrapped key)
gives the key of ``Manifest.db``; each file's ``MBFile`` record has ``ProtectionClass`` and
``EncryptionKey`` (4-byte class, wrapped key). Manifest.db and every file are AES-256-CBC
with a zero IV and PKCS#7 padding; a file's plain size is its record's ``Size``.

A file is decrypted as it is read (CBC decrypts from any block given the block before
it), never held whole, so a seek costs one block.

Not iphone-backup-decrypt (MIT): it adds pycryptodome, decrypts each file whole into
memory (a phone video can be gigabytes) and writes the decrypted Manifest.db to a
temporary file; ``cryptography`` is already a dependency. Its 0.11.2 release decrypts
the tests' generated encrypted backup (tests/sources/build_phones.py) byte for byte
the same, which was checked by hand (it is not a test dependency).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hashes import SHA1, SHA256
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from vigil.sources.members import Slice

_BLOCK = 16
_WRAP_PASSCODE = 2
# Apple uses 10,000,000 and 10,000; a keybag asking for far more is damaged or hostile.
_MAX_DPIC = 50_000_000
_MAX_ITER = 5_000_000


class BackupKeyError(Exception):
    """The backup cannot be decrypted: wrong password or a damaged keybag."""


def parse_tlv(blob: bytes) -> list[tuple[bytes, bytes]]:
    """The ``(tag, value)`` blocks of a keybag, in order."""
    out: list[tuple[bytes, bytes]] = []
    i = 0
    while i + 8 <= len(blob):
        tag = blob[i : i + 4]
        (length,) = struct.unpack(">I", blob[i + 4 : i + 8])
        out.append((tag, blob[i + 8 : i + 8 + length]))
        i += 8 + length
    return out


@dataclass(frozen=True)
class Keybag:
    """A backup keybag: its header attributes and the wrapped key of each class."""

    attrs: dict[bytes, bytes]
    wrapped: dict[int, tuple[int, bytes]]  # class -> (WRAP flags, WPKY)

    @classmethod
    def parse(cls, blob: bytes) -> Keybag:
        attrs: dict[bytes, bytes] = {}
        wrapped: dict[int, tuple[int, bytes]] = {}
        current: dict[bytes, bytes] | None = None
        for tag, value in parse_tlv(blob):
            if tag == b"UUID" and b"UUID" in attrs:
                current = {}  # the header has the first UUID; each later one opens a class
            if current is None:
                attrs.setdefault(tag, value)
                continue
            current[tag] = value
            if b"CLAS" in current and b"WPKY" in current and b"WRAP" in current:
                wrapped[_int(current[b"CLAS"])] = (_int(current[b"WRAP"]), current[b"WPKY"])
        return cls(attrs, wrapped)

    def class_keys(self, password: bytes) -> dict[int, bytes]:
        """The unwrapped key of each class, from the backup password.

        Raises:
            BackupKeyError: when the password is wrong or the keybag is damaged.
        """
        try:
            dpic = _int(self.attrs[b"DPIC"])
            iterations = _int(self.attrs[b"ITER"])
            dpsl, salt = self.attrs[b"DPSL"], self.attrs[b"SALT"]
        except KeyError as exc:
            raise BackupKeyError(f"keybag lacks {exc.args[0].decode()}") from None
        if not (0 < dpic <= _MAX_DPIC and 0 < iterations <= _MAX_ITER):
            raise BackupKeyError(f"keybag iteration counts out of range ({dpic}, {iterations})")
        first = PBKDF2HMAC(SHA256(), 32, dpsl, dpic).derive(password)
        passcode_key = PBKDF2HMAC(SHA1(), 32, salt, iterations).derive(first)
        keys: dict[int, bytes] = {}
        for protection, (wrap, wpky) in self.wrapped.items():
            if not wrap & _WRAP_PASSCODE:
                continue
            try:
                keys[protection] = aes_key_unwrap(passcode_key, wpky)
            except (InvalidUnwrap, ValueError):
                raise BackupKeyError("wrong backup password (class key does not unwrap)") from None
        if not keys:
            raise BackupKeyError("keybag has no class key protected by the password")
        return keys


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def unwrap_file_key(class_keys: dict[int, bytes], protection: int, wrapped: bytes) -> bytes:
    """A file's (or the manifest's) AES key from its class and wrapped key.

    Raises:
        BackupKeyError: when the class is unknown or the key does not unwrap.
    """
    key = class_keys.get(protection)
    if key is None:
        raise BackupKeyError(f"no key for protection class {protection}")
    try:
        return aes_key_unwrap(key, wrapped)
    except (InvalidUnwrap, ValueError):
        raise BackupKeyError("file key does not unwrap (damaged record)") from None


def manifest_key(class_keys: dict[int, bytes], manifest_key_blob: bytes) -> bytes:
    """The key of Manifest.db from Manifest.plist's ``ManifestKey``."""
    if len(manifest_key_blob) < 8:
        raise BackupKeyError("ManifestKey too short")
    (protection,) = struct.unpack("<I", manifest_key_blob[:4])
    return unwrap_file_key(class_keys, protection, manifest_key_blob[4:])


def decrypt_whole(data: bytes, key: bytes) -> bytes:
    """AES-256-CBC (zero IV) decryption of ``data``, PKCS#7 padding removed if valid."""
    usable = len(data) - len(data) % _BLOCK
    plain = _cbc(key, bytes(_BLOCK)).update(data[:usable])
    pad = plain[-1] if plain else 0
    if 0 < pad <= _BLOCK and plain.endswith(bytes([pad]) * pad):
        plain = plain[:-pad]
    return plain


def _cbc(key: bytes, iv: bytes):  # noqa: ANN202 - a cryptography decryptor context
    return Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()


class DecryptingReader(Slice):
    """The plain bytes of one encrypted backup file, decrypted as they are read."""

    def __init__(self, path: Path, key: bytes, size: int | None) -> None:
        f = open(path, "rb")  # noqa: SIM115 - closed by close()
        stored = f.seek(0, io.SEEK_END)
        super().__init__(f, 0, stored)
        self._key = key
        try:
            if stored % _BLOCK:
                raise OSError(
                    f"encrypted file of {stored} bytes: not a whole number of AES blocks"
                )
            if size is None or not 0 <= size <= stored:
                size = stored - self._padding(stored)
        except OSError:
            self.close()
            raise
        self._size = size

    def _padding(self, stored: int) -> int:
        """The PKCS#7 padding length, from the last block (a record without a size)."""
        if stored == 0:
            return 0
        self._pos = stored - _BLOCK
        last = bytearray(_BLOCK)
        self.readinto(last)
        self._pos = 0
        pad = last[-1]
        if not 0 < pad <= _BLOCK:
            raise OSError("encrypted file: invalid padding (wrong key or damaged file)")
        return pad

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        first = self._pos - self._pos % _BLOCK
        last = self._pos + want
        end = last + (-last) % _BLOCK
        if first:
            self._f.seek(first - _BLOCK)
            iv = self._f.read(_BLOCK)
        else:
            self._f.seek(0)
            iv = bytes(_BLOCK)
        cipher = self._f.read(end - first)
        if len(cipher) < end - first:
            raise OSError("encrypted file shorter than its recorded size")
        plain = _cbc(self._key, iv).update(cipher)
        skip = self._pos - first
        memoryview(buffer)[:want] = plain[skip : skip + want]
        self._pos += want
        return want


def open_decrypted(path: Path, key: bytes, size: int | None) -> io.BufferedReader:
    """A buffered stream of the plain bytes of the encrypted file at ``path``."""
    return io.BufferedReader(DecryptingReader(path, key, size), buffer_size=1 << 20)
