"""Ed25519 signatures for the audit log: the server's key file, and signing and checking checkpoints and
export manifests.

No Flask and no database, so the offline verifier checks exactly what the server signed. What is signed
is the canonical JSON (canonical.canonical_json) of a document that names its own type, so a checkpoint's
signature can never pass for a manifest's or the other way round.
"""

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat, PublicFormat,
                                                          load_pem_private_key, load_pem_public_key)

from ..canonical import canonical_json

CHECKPOINT_TYPE = "ops-audit-checkpoint/1"
MANIFEST_TYPE = "ops-audit-export-manifest/1"
CHECKPOINT_FIELDS = ("length", "head_hash", "at")


def load_or_create_private_key(path: str) -> tuple[Ed25519PrivateKey, bool]:
    """The private key in the PEM file at `path`, made first (mode 0600) when there is none; and whether it
    was made now. Several processes starting at once end up with the same key: the file appears whole
    (written aside, then linked into place) or not at all."""
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, Ed25519PrivateKey.generate().private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(aside, target)
            made = True
        except FileExistsError:  # another process was first: use its key
            made = False
        finally:
            os.unlink(aside)
        if made:
            return _read_private(target), True
    return _read_private(target), False


def _read_private(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def public_pem(private: Ed25519PrivateKey) -> str:
    """The public half as PEM (SubjectPublicKeyInfo), the form `ops audit-public-key` prints."""
    return private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text; ValueError for anything else."""
    key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def _checkpoint_message(cp: dict) -> bytes:
    return canonical_json({"type": CHECKPOINT_TYPE, **{k: cp[k] for k in CHECKPOINT_FIELDS}}).encode()


def sign_checkpoint(private: Ed25519PrivateKey, length: int, head_hash: str, at: str) -> dict:
    """A checkpoint: the chain held `length` events, the last with hash `head_hash`, at `at` (format_time)."""
    cp = {"length": length, "head_hash": head_hash, "at": at}
    return {**cp, "key_id": key_id(private.public_key()), "signature": private.sign(_checkpoint_message(cp)).hex()}


def _valid(public: Ed25519PublicKey, signature, message: bytes) -> bool:
    try:
        public.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def verify_checkpoint(public: Ed25519PublicKey, cp: dict) -> bool:
    """Whether `cp` (length, head_hash, at as text, signature) was signed by this key."""
    try:
        message = _checkpoint_message(cp)
    except (KeyError, TypeError):
        return False
    return _valid(public, cp.get("signature"), message)


def sign_document(private: Ed25519PrivateKey, doc: dict) -> dict:
    """`doc` with `key_id` and a `signature` over the canonical JSON of everything else in it."""
    body = {**doc, "key_id": key_id(private.public_key())}
    return {**body, "signature": private.sign(canonical_json(body).encode()).hex()}


def verify_document(public: Ed25519PublicKey, doc: dict) -> bool:
    """Whether `doc` (as made by sign_document) is unchanged and was signed by this key."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    return _valid(public, doc.get("signature"), canonical_json(body).encode())
