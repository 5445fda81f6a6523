"""Sessions with port forwarding, a telnet exploit and every shape of file transfer (Cowrie 3.1.4 fields)."""

from __future__ import annotations

from tests.ingestion.builders import Session

GET = "b'GET / HTTP/1.1\\r\\nHost: example.com\\r\\n\\r\\n'"  # 37 bytes once decoded


def proxy_user(sid: str = "f0f0f0f0f0f0") -> Session:
    """An SSH client using the honeypot as a proxy (Cowrie 3.1.4 fields, direct-tcpip overwrites dst_*)."""
    s = Session(sid, "198.51.100.20").connect().version().login("root", "admin")
    s.ev("cowrie.direct-tcpip.request", dst_ip="93.184.216.34", dst_port=80, orig_ip="127.0.0.1", orig_port=5555)
    s.ev("cowrie.direct-tcpip.data", dst_ip="93.184.216.34", dst_port=80, data=GET, id=0)
    s.ev("cowrie.direct-tcpip.request", dst_ip="mail.example.org", dst_port=25, orig_ip="127.0.0.1", orig_port=5556)
    return s


def telnet_bypass(sid: str = "e1e1e1e1e1e1") -> Session:
    """The NEW-ENVIRON ``USER=-f root`` bypass as Cowrie 3.1.4 logs it (telnet/userauth.py, with
    ``[telnet] cve_2026_24061_vulnerable``): what was typed at the login and password prompts comes as
    ``original_username`` and ``attempted_command``."""
    s = Session(sid, "198.51.100.30", protocol="telnet", dst_port=23).connect()
    s.ev("cowrie.client.var", name="USER", value="-f root")
    s.ev("cowrie.telnet.exploit_attempt", cve="CVE-2026-24061", name="USER", value="-f root")
    s.ev(
        "cowrie.telnet.exploit_success", cve="CVE-2026-24061", username="root", original_username="admin",
        attempted_command="uname -a",
    )  # fmt: skip
    return s.login("root", "").cmd("uname -a")


def dropper(sid: str = "d0d0d0d0d0d0") -> Session:
    s = Session(sid, "198.51.100.40").connect().login("root", "123456")
    s.download("http://203.0.113.9/x.sh", shasum="c" * 64)
    s.ev("cowrie.session.file_download", destfile="/tmp/.x", duplicate=False, outfile="dl/" + "d" * 64, shasum="d" * 64)
    s.ev("cowrie.session.file_download", destfile="", duplicate=False, outfile="dl/" + "e" * 64, shasum="e" * 64)
    s.download_failed("http://203.0.113.9/y.sh")
    s.upload("payload.bin", shasum="f" * 64)
    return s.close()
