"""JupyterHub for one class of the course "vanishing-gradients" on one machine.

Run as root from a directory of its own (the hub's database and cookie secret are written
there)::

    cd /srv/jupyterhub
    /opt/vanishing-gradients/.venv/bin/jupyterhub -f /opt/vanishing-gradients/deploy/jupyterhub_config.py

Who is who is decided by Unix accounts and groups, nothing else:

* **Logging in** is PAM: a student logs in with the password of their Unix account, and
  only members of the student or instructor group may log in at all.
* **Every user's server** is a ``jupyterhub-singleuser`` process started as that user
  (``LocalProcessSpawner``), from the same environment as the hub (the same ``vglib``), with
  the student-side nbgrader extensions only (assignment list, validate): see ``jupyter/student``.
  Before a server starts, the user's home is made private (Debian's ``useradd`` makes homes
  that everyone can read): fetched assignments and feedback live there.
* **The formgrader** is a hub service: a Jupyter server started as the course's grader
  account in the course directory (a clone of the private instructor repository's
  ``exercises/``), with every nbgrader extension. Only members of the instructor group may
  open it (the role below grants ``access:services!service=vanishing-gradients``); to anyone
  else the hub answers 403. Instructors release, collect, grade and return feedback there,
  in its formgrader page or its terminal (``python -m vglib.classroom autograde``). It
  collects a submission only when the Unix user who made it is the student it names
  (``jupyter/grader``); students' submissions are readable by the grader only
  (``jupyter/student``).
* **The exchange** is a directory on this machine: its root is writable by everyone with
  the sticky bit (nbgrader's fetch and submit refuse a root they cannot write to), and the
  course's folder in it is created here, owned by the grader account, before any student can
  log in (otherwise the first user to submit could create it and own the inbox).

Settings (environment variables, read when the hub starts; the defaults are a real class's):

===================== ============================================= ==============================
``VG_COURSE_DIR``     the course directory, owned by the grader     ``~grader/vanishing-gradients``
``VG_GRADER_USER``    the Unix account the formgrader runs as       ``grader-vanishing-gradients``
``VG_EXCHANGE``       the exchange root                             ``/srv/nbgrader/exchange``
``VG_STUDENT_GROUP``  Unix group whose members may log in           ``vg-students``
``VG_INSTRUCTOR_GROUP`` Unix group of the instructors and TAs       ``vg-instructors``
``VG_FORMGRADER_PORT`` local port of the formgrader service         ``9999``
===================== ============================================= ==============================

Group membership is read when the hub starts: restart it after adding an instructor.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import sys
from pathlib import Path

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

COURSE_ID = "vanishing-gradients"
DEPLOY = Path(__file__).resolve().parent
#: The environment the hub runs from; every server and the formgrader run from it too.
BIN = Path(sys.executable).parent

GRADER = os.environ.get("VG_GRADER_USER", f"grader-{COURSE_ID}")
COURSE_DIR = Path(os.environ.get("VG_COURSE_DIR") or Path(pwd.getpwnam(GRADER).pw_dir) / COURSE_ID)
EXCHANGE = Path(os.environ.get("VG_EXCHANGE", "/srv/nbgrader/exchange"))
STUDENT_GROUP = os.environ.get("VG_STUDENT_GROUP", "vg-students")
INSTRUCTOR_GROUP = os.environ.get("VG_INSTRUCTOR_GROUP", "vg-instructors")
FORMGRADER_PORT = int(os.environ.get("VG_FORMGRADER_PORT", "9999"))
FORMGRADE_GROUP = f"formgrade-{COURSE_ID}"

#: What every process started by the hub finds first on its PATH: the course's environment.
PATH = os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"])


def _instructors() -> list[str]:
    """The members of the instructor group (its primary members included)."""
    group = grp.getgrnam(INSTRUCTOR_GROUP)
    primary = [user.pw_name for user in pwd.getpwall() if user.pw_gid == group.gr_gid]
    return sorted(set(group.gr_mem) | set(primary))


def _ensure_exchange() -> None:
    """The exchange root (1777) and the course's folder in it (owned by the grader, 755)."""
    grader = pwd.getpwnam(GRADER)
    EXCHANGE.mkdir(parents=True, exist_ok=True)
    os.chmod(EXCHANGE, 0o1777)
    course = EXCHANGE / COURSE_ID
    if not course.exists():
        course.mkdir()
        os.chown(course, grader.pw_uid, grader.pw_gid)
        os.chmod(course, 0o755)
    info = course.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != grader.pw_uid:
        owner = pwd.getpwuid(info.st_uid).pw_name
        raise SystemExit(
            f"{course} belongs to {owner!r}, not to the grader {GRADER!r}: someone created it "
            "before the hub did. Move it away (it may hold submissions) and start the hub again."
        )


def _make_private(path: Path, log=None) -> None:
    """Readable by its owner only (Debian's useradd makes homes that everyone can read)."""
    mode = path.stat().st_mode
    if mode & 0o077:
        os.chmod(path, stat.S_IMODE(mode) & 0o700)
        if log is not None:
            log.warning("%s was readable by others: made it private (700)", path)


def _private_home(spawner) -> None:
    """Before a server starts: its user's home is readable by that user only."""
    _make_private(Path(pwd.getpwnam(spawner.user.name).pw_dir), spawner.log)


_ensure_exchange()
# solutions, hidden tests, mark schemes and the gradebook: the grader's alone
_make_private(Path(pwd.getpwnam(GRADER).pw_dir))
_make_private(COURSE_DIR)

# --- who may log in ----------------------------------------------------------------------------

c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STUDENT_GROUP, INSTRUCTOR_GROUP}
# No hub admins: instructors need no more than the formgrader; root administers the machine.
c.Authenticator.admin_users = set()

# --- every user's server ----------------------------------------------------------------------

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    # the student-side extensions and nbgrader settings (course id, exchange)
    "JUPYTER_CONFIG_PATH": str(DEPLOY / "jupyter" / "student"),
    "VG_EXCHANGE": str(EXCHANGE),
    "PATH": PATH,
}
c.Spawner.pre_spawn_hook = _private_home
# a few hundred students start their servers in the same minutes before a deadline
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# --- the formgrader, for the instructors only -------------------------------------------------

c.JupyterHub.services = [
    {
        "name": COURSE_ID,
        "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
        "command": [str(BIN / "jupyterhub-singleuser")],
        "user": GRADER,
        "cwd": str(COURSE_DIR),
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
            # the grader-side rule of jupyter/grader (only genuine submissions are collected)
            "JUPYTER_CONFIG_PATH": str(DEPLOY / "jupyter" / "grader"),
            "VG_EXCHANGE": str(EXCHANGE),
            "PATH": PATH,
        },
        # the course's own service: no "authorize this application?" page
        "oauth_no_confirm": True,
    }
]
c.JupyterHub.load_groups = {FORMGRADE_GROUP: {"users": _instructors()}}
c.JupyterHub.load_roles = [
    {
        "name": FORMGRADE_GROUP,
        "description": f"Open the formgrader of {COURSE_ID}",
        "groups": [FORMGRADE_GROUP],
        "scopes": [
            f"access:services!service={COURSE_ID}",
            f"read:services!service={COURSE_ID}",
        ],
    }
]

# --- the proxy ---------------------------------------------------------------------------------

# `npm ci --prefix deploy` installs configurable-http-proxy next to this file.
_proxy = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
if _proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(_proxy)]
elif shutil.which("configurable-http-proxy") is None:
    raise SystemExit(f"no configurable-http-proxy: run `npm ci --prefix {DEPLOY}`")
