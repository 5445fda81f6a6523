"""What attackers send to a Cowrie sensor: client fingerprints, credentials, command scripts, unknown commands.

Static data only; campaign instances (a script with its own key, URL and password) are drawn from it by
:mod:`cowrieprocessor.synthetic.campaigns` with the generator's seeded random source.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientProfile:
    """An SSH client as Cowrie sees it: version banner plus KEXINIT lists (hence its HASSH)."""

    version: str
    kex_fields: str  # JSON fragment "hassh":...,"langCS":[""], ready to splice into a line
    hassh: str


def _profile(version: str, kex: str, keys: str, enc: str, mac: str, comp: str = "none") -> ClientProfile:
    kex_l, keys_l, enc_l, mac_l, comp_l = (s.split(",") for s in (kex, keys, enc, mac, comp))
    algorithms = ";".join((kex, enc, mac, comp))
    hassh = hashlib.md5(algorithms.encode()).hexdigest()  # noqa: S324 - HASSH is defined as MD5
    fields = {
        "hassh": hassh,
        "hasshAlgorithms": algorithms,
        "kexAlgs": kex_l,
        "keyAlgs": keys_l,
        "encCS": enc_l,
        "macCS": mac_l,
        "compCS": comp_l,
        "langCS": [""],
    }
    fragment = json.dumps(fields, separators=(",", ":"))[1:-1] + ","
    return ClientProfile(version, fragment, hassh)


_OPENSSH_KEX = (
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
    "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256,ext-info-c"
)
_OPENSSH_KEYS = (
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-ed25519,"
    "ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
)
_OPENSSH_ENC = (
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
)
_OPENSSH_MAC = (
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
    "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
    "hmac-sha2-256,hmac-sha2-512,hmac-sha1"
)

# (profile, weight): Go and libssh dominate real scanner traffic.
CLIENTS: tuple[tuple[ClientProfile, int], ...] = (
    (
        _profile(
            "SSH-2.0-Go",
            "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
            "diffie-hellman-group14-sha1,diffie-hellman-group1-sha1",
            "ssh-rsa-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ssh-rsa",
            "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr",
            "hmac-sha2-256-etm@openssh.com,hmac-sha2-256,hmac-sha1,hmac-sha1-96",
        ),
        40,
    ),
    (
        _profile(
            "SSH-2.0-libssh2_1.10.0",
            "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
            "diffie-hellman-group16-sha512,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1",
            "ecdsa-sha2-nistp256,ssh-ed25519,rsa-sha2-512,rsa-sha2-256,ssh-rsa",
            "aes128-ctr,aes192-ctr,aes256-ctr,aes256-cbc,aes192-cbc,aes128-cbc",
            "hmac-sha2-256,hmac-sha2-512,hmac-sha1,hmac-sha1-96,hmac-md5",
        ),
        15,
    ),
    (
        _profile(
            "SSH-2.0-libssh_0.9.6",
            "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
            "ecdh-sha2-nistp521,diffie-hellman-group18-sha512,diffie-hellman-group16-sha512,"
            "diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256,ext-info-c",
            "ssh-ed25519,ecdsa-sha2-nistp521,ecdsa-sha2-nistp384,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
            "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,"
            "aes128-ctr",
            "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512",
        ),
        12,
    ),
    (_profile("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10", _OPENSSH_KEX, _OPENSSH_KEYS, _OPENSSH_ENC, _OPENSSH_MAC), 10),
    (
        _profile(
            "SSH-2.0-OpenSSH_7.4", _OPENSSH_KEX, _OPENSSH_KEYS, _OPENSSH_ENC, _OPENSSH_MAC, "none,zlib@openssh.com"
        ),
        5,
    ),
    (
        _profile(
            "SSH-2.0-paramiko_2.11.0",
            "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
            "diffie-hellman-group16-sha512,diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256",
            "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256,ssh-rsa",
            "aes128-ctr,aes192-ctr,aes256-ctr,aes128-cbc,aes192-cbc,aes256-cbc,3des-cbc",
            "hmac-sha2-256,hmac-sha2-512,hmac-sha1,hmac-md5",
        ),
        8,
    ),
    (
        _profile(
            "SSH-2.0-ZGrab ZGrab SSH Survey",
            "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
            "diffie-hellman-group14-sha1,diffie-hellman-group1-sha1",
            "ssh-rsa,ecdsa-sha2-nistp256,ssh-ed25519",
            "aes128-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr",
            "hmac-sha2-256,hmac-sha1,hmac-sha1-96",
        ),
        6,
    ),
    (
        _profile(
            "SSH-2.0-PuTTY_Release_0.78",
            "curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256",
            "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256,ssh-rsa",
            "aes256-ctr,aes256-cbc,aes192-ctr,aes128-ctr,chacha20-poly1305@openssh.com",
            "hmac-sha2-256,hmac-sha1,hmac-md5",
            "none,zlib",
        ),
        4,
    ),
)

USERNAMES: tuple[str, ...] = (
    "root", "root", "root", "root", "admin", "admin", "user", "test", "ubuntu", "oracle", "postgres", "pi",
    "support", "ftpuser", "git", "guest", "debian", "centos", "hadoop", "deploy", "minecraft", "ubnt",
    "teamspeak", "nagios", "steam", "es", "sol", "solana", "mysql", "www-data", "dev", "jenkins", "default",
)  # fmt: skip
PASSWORDS: tuple[str, ...] = (
    "123456", "password", "admin", "root", "12345678", "1234", "12345", "qwerty", "123", "test", "P@ssw0rd",
    "ubuntu", "raspberry", "1qaz2wsx", "admin123", "Passw0rd", "toor", "abc123", "111111", "changeme",
    "root123", "Admin@123", "password1", "123123", "000000", "qwe123", "1q2w3e4r", "welcome", "default",
    "support", "ubnt", "oracle", "postgres", "git", "guest", "letmein", "Huawei@123", "hadoop", "dev",
    "Aa123456", "p@ssw0rd", "zxcvbnm", "1234567890", "qwerty123", "", "vizxv", "xc3511", "888888",
)  # fmt: skip

# Commands Cowrie 3.1.4 does not implement: each part of a line starting with one gives cowrie.command.failed.
UNKNOWN_COMMANDS: frozenset[str] = frozenset(
    {"lockr", "nvidia-smi", "enable", "system", "shell", "top", "lscpu", "systemctl", "ip", "dmidecode",
     "lsb_release", "masscan", "zmap", "./x86", "./xmrig", "./kinsing", "./redtail", "./dota3", "./arm7"}
)  # fmt: skip

TELNET_OPTIONS: tuple[tuple[str, str, int], ...] = (
    ("WONT", "NAWS", 31),
    ("DONT", "ECHO", 1),
    ("DONT", "SGA", 3),
    ("WILL", "NAWS", 31),
    ("DO", "ECHO", 1),
    ("WONT", "LINEMODE", 34),
)

RECON_LINES: tuple[str, ...] = (
    "uname -a",
    "cat /proc/cpuinfo | grep name | wc -l",
    "free -m | grep Mem | awk '{print $2 ,$3, $4, $5, $6, $7}'",
    "ls -lh $(which ls)",
    "crontab -l",
    "w",
    "uname -m",
    "cat /proc/cpuinfo | grep model | grep name | wc -l",
    "whoami",
    "lscpu | grep Model",
    "df -h | head -n 2 | awk 'FNR == 2 {print $2;}'",
    "lspci | grep VGA",
)

TELNET_LINES: tuple[str, ...] = (
    "enable",
    "system",
    "shell",
    "sh",
    "cat /proc/mounts; /bin/busybox ECCHI",
    "/bin/busybox wget; /bin/busybox tftp; /bin/busybox ECCHI",
)

MALWARE_NAMES: tuple[str, ...] = ("x86", "arm7", "mips", "bins.sh", "kinsing", "xmrig", "redtail", "c.sh", "dota3")
