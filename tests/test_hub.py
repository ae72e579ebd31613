"""A class on the course's real JupyterHub (deploy/), with real Unix users, as the browser drives it.

The fixture creates an instructor, the course's grader account and three students as Unix
users (PAM passwords, Debian's ``useradd`` defaults), starts ``jupyterhub`` with
``deploy/jupyterhub_config.py`` and the ``configurable-http-proxy`` that ``npm ci --prefix
deploy`` installs, on 127.0.0.1, and runs one assignment through it the way the pages do:

* every user logs in through the hub's login form and asks the hub's REST API for a token;
* the instructor generates and releases the assignment through the formgrader service's API;
* each student's server (started through the hub's API) lists and fetches it, the student's
  notebook is saved through the contents API (one solved, one partly, one that kills its
  kernel) and submitted;
* the instructor collects, autogrades each student, generates and releases feedback;
* each student fetches their feedback and opens it.

The tests then check the grades and feedback, and who may read what, as the real users:
through the proxy with each user's token, and with ``runuser`` as each student on the files.
Headless Chromium takes screenshots of the formgrader and a student's assignment list
(``test-artifacts/hub/``). Everything is removed at the end, also when a step fails, and the
finalizer fails the run if any user, process or file is left behind.

Creating Unix users needs root: the test skips when not run as root (under ``VGLIB_STRICT=1``,
as in CI, a skip is a failure).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
import requests
from chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium
from hub_machine import Machine, alive, closed_ancestors, free_port, processes_of, terminate
from nbgrader_course import (
    COURSE_ID,
    ROOT,
    copy_course,
    nbgrader_meta,
    points,
    solved_notebook,
    source_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub")]

ASSIGNMENT = "chain_rule"  # the quickest assignment to run
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
BIN = Path(sys.executable).parent
DEPLOY = ROOT / "deploy"
PROXY = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
ARTIFACTS = ROOT / "test-artifacts" / "hub"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
#: What each student hands in: every answer, the multiple-choice letters only, or a notebook
#: whose first answer kills the kernel.
WORK = {"stu1": "solved", "stu2": "partly", "stu3": "broken"}

PROBE = r"""
import json, os, sys
out = {}
for label, op, path in json.loads(sys.argv[1]):
    try:
        if op == "list":
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
        out[label] = "ok"
    except PermissionError:
        out[label] = "denied"
    except FileNotFoundError:
        out[label] = "missing"
    except OSError as err:
        out[label] = type(err).__name__
print(json.dumps(out))
"""


# --- talking to the hub as a browser does ------------------------------------------------------


class HubUser:
    """One person at the hub: logs in through the form, then works with an API token."""

    def __init__(self, hub_url: str, name: str, password: str):
        self.hub_url, self.name, self.password = hub_url, name, password
        self.browser = requests.Session()  # cookies, as the login form sets them
        self.api = requests.Session()  # the token, as the pages send it
        self.token = ""

    def login(self) -> None:
        login = f"{self.hub_url}/hub/login"
        self.browser.get(login, timeout=30).raise_for_status()
        xsrf = self.browser.cookies.get("_xsrf")
        form = {"username": self.name, "password": self.password, "_xsrf": xsrf}
        response = self.browser.post(login, data=form, allow_redirects=False, timeout=60)
        assert response.status_code == 302, f"{self.name}: login {response.status_code}"
        assert "jupyterhub-session-id" in self.browser.cookies or any(
            cookie.name.startswith("jupyterhub-hub-login") for cookie in self.browser.cookies
        ), f"{self.name}: no login cookie"
        # the token page, as the browser opens it: its xsrf cookie belongs to the new session
        self.browser.get(f"{self.hub_url}/hub/token", timeout=30).raise_for_status()
        xsrf = self.browser.cookies.get("_xsrf", path="/hub/")
        response = self.browser.post(
            f"{self.hub_url}/hub/api/users/{self.name}/tokens",
            json={"note": "test_hub", "expires_in": 3600},
            headers={"X-XSRFToken": xsrf},
            timeout=30,
        )
        assert response.status_code == 201, f"{self.name}: token {response.status_code}"
        self.token = response.json()["token"]
        self.api.headers["Authorization"] = f"token {self.token}"

    def get(self, path: str, **kwargs):
        return self.api.get(f"{self.hub_url}{path}", timeout=120, **kwargs)

    def post(self, path: str, **kwargs):
        return self.api.post(f"{self.hub_url}{path}", timeout=600, **kwargs)

    def put(self, path: str, **kwargs):
        return self.api.put(f"{self.hub_url}{path}", timeout=120, **kwargs)

    def ok(self, method: str, path: str, **kwargs):
        """A request that must succeed; returns its JSON (nbgrader's must say success)."""
        response = getattr(self, method)(path, **kwargs)
        assert response.status_code in (200, 201), (
            f"{self.name}: {method.upper()} {path} -> {response.status_code} {response.text[:2000]}"
        )
        body = response.json() if response.content else {}
        if isinstance(body, dict) and "success" in body:
            assert body["success"], f"{self.name}: {path}: {json.dumps(body)[:4000]}"
        return body

    # the user's own server, as JupyterLab's pages call it
    def server(self, path: str) -> str:
        return f"/user/{self.name}/{path.lstrip('/')}"


def _wait(what: str, check, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except Exception as err:  # not up yet
            last = err
            result = None
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


# --- the class -------------------------------------------------------------------------------


@dataclass
class HubClass:
    base: Path
    hub_url: str
    exchange: Path
    course_dir: Path
    instructor: HubUser
    grader: str
    students: dict[str, HubUser]  # by role: stu1, stu2, stu3
    homes: dict[str, Path]
    listed: dict[str, dict] = field(default_factory=dict)  # what each student's list showed
    submissions: list[dict] = field(default_factory=list)  # the formgrader's table
    feedback: dict[str, str] = field(default_factory=dict)  # role -> the feedback page
    feedback_paths: dict[str, Path] = field(default_factory=dict)
    probes: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> label -> result
    collect_log: str = ""

    def service(self, path: str) -> str:
        return f"/services/{COURSE_ID}/{path.lstrip('/')}"


def _students_work(role: str, released: dict) -> dict:
    """The notebook a student saves, made from the released one."""
    with tempfile.TemporaryDirectory() as tmp:
        release = Path(tmp) / NOTEBOOK
        nbformat.write(nbformat.from_dict(released), release)
        nb = solved_notebook(source_notebook(ASSIGNMENT), release)
        plain = nbformat.read(release, as_version=4)
    kind = WORK[role]
    if kind == "partly":  # the multiple-choice letters only; every coding task left undone
        for cell, untouched in zip(nb.cells, plain.cells, strict=True):
            if not nbgrader_meta(cell).get("grade_id", "").startswith("answer_q"):
                cell.source = untouched.source
    elif kind == "broken":  # the first answer kills the kernel
        first = next(cell for cell in nb.cells if nbgrader_meta(cell).get("solution"))
        first.source = "import os\nos._exit(1)\n" + first.source
    return nb


def _run_as(user: str, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run a command as the Unix user ``user``, in their home, as their terminal would."""
    env = {"HOME": str(home), "PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", **env}
    return subprocess.run(
        [RUNUSER, "-u", user, "--", *args],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _hub_env(**settings: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "NBGRADER", "VG_", "IPYTHON", "CONFIGPROXY"))
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update(settings)
    return env


@pytest.fixture(scope="module")
def hub_class(request) -> HubClass:
    if os.geteuid() != 0:
        pytest.skip("creates Unix users and runs a hub as root: run as root (CI does)")
    if not PROXY.exists():
        pytest.fail(f"no {PROXY}: run `make proxy` (npm ci --prefix deploy)")

    tag = secrets.token_hex(3)
    machine = Machine()
    base = Path(tempfile.mkdtemp(prefix=f"vgtest_hub_{tag}_"))
    hub_proc: list[subprocess.Popen] = []

    def teardown():
        errors = []
        for proc in hub_proc:  # the hub stops the servers, the service and the proxy
            terminate([proc.pid], grace=30)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                errors.append(f"the hub (pid {proc.pid}) did not stop")
        pid_file = base / "hub" / "jupyterhub-proxy.pid"
        proxy_pid = int(pid_file.read_text()) if pid_file.exists() else None
        if proxy_pid is not None:
            terminate([proxy_pid])
        errors += machine.undo()
        shutil.rmtree(base, ignore_errors=True)
        left = machine.leftovers()
        left += [f"hub process {p.pid}" for p in hub_proc if alive(p.pid)]
        left += [f"proxy process {proxy_pid}"] if proxy_pid and alive(proxy_pid) else []
        left += [f"directory {base}"] if base.exists() else []
        assert not errors and not left, f"teardown: {errors} left behind: {left}"

    request.addfinalizer(teardown)

    # -- the machine: groups, users, a world-traversable base, the course, the exchange --
    os.chmod(base, 0o755)
    (base / "hub").mkdir(mode=0o700)
    students_group, instructors_group = f"vgtest_stud_{tag}", f"vgtest_inst_{tag}"
    machine.add_group(students_group)
    machine.add_group(instructors_group)
    passwords = {}

    def user(role: str, group: str | None):
        name = f"vgtest_{role}_{tag}"
        passwords[name] = secrets.token_urlsafe(12)
        return name, machine.add_user(name, passwords[name], [group] if group else [])

    instructor, _ = user("instr", instructors_group)
    grader, grader_pw = user("grader", None)
    students = {role: user(role, students_group) for role in WORK}
    # The course's Python, this repository and the base must be reachable for the new users.
    reach = [Path(os.path.realpath(sys.executable)), Path(sys.base_prefix), BIN.parent, ROOT, base]
    machine.grant_traverse(closed_ancestors(reach), machine.uids)
    for name, entry in [*students.values()]:
        probe = _run_as(
            name, Path(entry.pw_dir), str(BIN / "python"), "-c", "import vglib, nbgrader"
        )
        assert probe.returncode == 0, f"{name} cannot use the course's Python: {probe.stderr}"

    course_dir = copy_course(Path(grader_pw.pw_dir) / COURSE_ID, (ASSIGNMENT,))
    machine.run("chown", "-R", f"{grader}:{grader}", str(course_dir))
    exchange = base / "exchange"

    # -- the hub --
    port, hub_port, api_port, service_port = (free_port() for _ in range(4))
    hub_url = f"http://127.0.0.1:{port}"
    env = _hub_env(
        VG_COURSE_DIR=str(course_dir),
        VG_GRADER_USER=grader,
        VG_EXCHANGE=str(exchange),
        VG_STUDENT_GROUP=students_group,
        VG_INSTRUCTOR_GROUP=instructors_group,
        VG_FORMGRADER_PORT=str(service_port),
    )
    log = open(base / "hub" / "jupyterhub.log", "w")  # the hub's own file; closed at the end
    request.addfinalizer(log.close)
    hub_proc.append(
        subprocess.Popen(
            [
                str(BIN / "jupyterhub"),
                "-f",
                str(DEPLOY / "jupyterhub_config.py"),
                f"--JupyterHub.bind_url={hub_url}",
                f"--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port}",
                f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
            ],
            cwd=base / "hub",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )

    def hub_log() -> str:
        return (base / "hub" / "jupyterhub.log").read_text(errors="replace")[-6000:]

    request.node.hub_log = hub_log
    try:
        _wait(
            "the hub",
            lambda: (
                hub_proc[0].poll() is None and requests.get(f"{hub_url}/hub/health", timeout=5).ok
            ),
            timeout=240,  # the hub waits for the formgrader service to start
        )
    except AssertionError as err:
        raise AssertionError(f"{err}\n{hub_log()}") from None

    people = {role: HubUser(hub_url, name, passwords[name]) for role, (name, _) in students.items()}
    teacher = HubUser(hub_url, instructor, passwords[instructor])
    run = HubClass(
        base=base,
        hub_url=hub_url,
        exchange=exchange,
        course_dir=course_dir,
        instructor=teacher,
        grader=grader,
        students=people,
        homes={role: Path(entry.pw_dir) for role, (_, entry) in students.items()},
    )
    try:
        for person in [teacher, *people.values()]:
            person.login()
        _run_class(run)
    except Exception as err:
        raise AssertionError(f"{err}\n--- hub log ---\n{hub_log()}") from err
    return run


def _run_class(run: HubClass) -> None:
    teacher, people = run.instructor, run.students
    # -- every student's server starts (as the hub's spawn page asks for it) --
    for person in people.values():
        response = person.post(f"/hub/api/users/{person.name}/server")
        assert response.status_code in (201, 202), response.text
    for person in people.values():
        _wait(
            f"{person.name}'s server",
            lambda p=person: p.get(f"/hub/api/users/{p.name}").json()["servers"][""]["ready"],
            timeout=240,
        )
    _wait(
        "the formgrader",
        lambda: teacher.get(run.service("formgrader/api/status")).status_code == 200,
        timeout=180,
    )

    # -- the instructor releases --
    teacher.ok("post", run.service(f"formgrader/api/assignment/{ASSIGNMENT}/assign"))
    teacher.ok("post", run.service(f"formgrader/api/assignment/{ASSIGNMENT}/release"))

    # -- each student lists, fetches, works, submits --
    query = {"course_id": COURSE_ID}
    for role, person in people.items():
        listed = person.ok("get", person.server("assignments"), params=query)["value"]
        assert [(a["assignment_id"], a["status"]) for a in listed] == [(ASSIGNMENT, "released")]
        body = {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT}
        person.ok("post", person.server("assignments/fetch"), json=body)
        path = person.server(f"api/contents/{ASSIGNMENT}/{NOTEBOOK}")
        released = person.ok("get", path)["content"]
        work = _students_work(role, released)
        person.ok("put", path, json={"type": "notebook", "format": "json", "content": work})
        person.ok("post", person.server("assignments/submit"), json=body)

    # -- a student submits once more, under another student's name, from their terminal --
    forger, victim = people["stu3"], people["stu1"]
    forged = _run_as(
        forger.name,
        run.homes["stu3"],
        str(BIN / "nbgrader"),
        "submit",
        ASSIGNMENT,
        f"--student={victim.name}",
        JUPYTER_CONFIG_PATH=str(DEPLOY / "jupyter" / "student"),
        VG_EXCHANGE=str(run.exchange),
    )
    assert forged.returncode == 0, forged.stdout + forged.stderr

    # -- the instructor collects, grades, returns feedback --
    collected = teacher.ok("post", run.service(f"formgrader/api/assignment/{ASSIGNMENT}/collect"))
    run.collect_log = collected["log"]
    for person in people.values():
        teacher.ok(
            "post", run.service(f"formgrader/api/submission/{ASSIGNMENT}/{person.name}/autograde")
        )
    teacher.ok("post", run.service(f"formgrader/api/assignment/{ASSIGNMENT}/generate_feedback"))
    teacher.ok("post", run.service(f"formgrader/api/assignment/{ASSIGNMENT}/release_feedback"))
    run.submissions = teacher.ok("get", run.service(f"formgrader/api/submissions/{ASSIGNMENT}"))

    # -- each student fetches their own feedback and opens it --
    for role, person in people.items():
        body = {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT}
        listed = person.ok("post", person.server("assignments/fetch_feedback"), json=body)
        run.listed[role] = listed
        submitted = [
            a
            for a in listed["value"]
            if a["status"] == "submitted" and a["student_id"] == person.name
        ]
        assert len(submitted) == 1 and len(submitted[0]["submissions"]) == 1, listed
        entry = submitted[0]["submissions"][0]
        assert entry["has_local_feedback"], entry
        folder = entry["local_feedback_path"]
        page = person.ok("get", person.server(f"api/contents/{folder}/{ASSIGNMENT}.html"))
        run.feedback[role] = page["content"]
        run.feedback_paths[role] = run.homes[role] / folder / f"{ASSIGNMENT}.html"

    # -- what each student can read on the machine, as that Unix user --
    course = run.exchange / COURSE_ID
    for role, person in people.items():
        checks = [
            ("own notebook", "read", run.homes[role] / ASSIGNMENT / NOTEBOOK),
            ("own feedback", "read", run.feedback_paths[role]),
            ("released assignments", "list", course / "outbound" / ASSIGNMENT),
            ("inbox", "list", course / "inbound"),
            ("released feedback", "list", course / "feedback"),
            ("course directory", "list", run.course_dir),
            ("source notebook", "read", run.course_dir / "source" / ASSIGNMENT / NOTEBOOK),
            ("gradebook", "read", run.course_dir / "gradebook.db"),
            ("autograded", "list", run.course_dir / "autograded"),
            ("collected submissions", "list", run.course_dir / "submitted"),
            ("grader's home", "list", run.course_dir.parent),
        ]
        for other_role, other in people.items():
            if other is person:
                continue
            checks += [
                (f"home of {other_role}", "list", run.homes[other_role]),
                (
                    f"notebook of {other_role}",
                    "read",
                    run.homes[other_role] / ASSIGNMENT / NOTEBOOK,
                ),
                (f"feedback of {other_role}", "read", run.feedback_paths[other_role]),
                (f"submission of {other_role}", "read", _submitted_notebook(course, other.name)),
            ]
        probe = _run_as(
            person.name,
            run.homes[role],
            str(BIN / "python"),
            "-c",
            PROBE,
            json.dumps([(label, op, str(path)) for label, op, path in checks]),
        )
        assert probe.returncode == 0, probe.stderr
        run.probes[role] = json.loads(probe.stdout)


def _submitted_notebook(course: Path, student: str) -> Path:
    """The student's own submission in the exchange's inbox (found as root)."""
    uid = pwd.getpwnam(student).pw_uid
    found = [
        path
        for path in (course / "inbound").glob(f"{student}+{ASSIGNMENT}+*")
        if path.stat().st_uid == uid
    ]
    assert len(found) == 1, found
    return found[0] / NOTEBOOK


# --- the cycle ---------------------------------------------------------------------------------


def _row(run: HubClass, role: str) -> dict:
    name = run.students[role].name
    return next(row for row in run.submissions if row["student"] == name)


def test_grades_match_the_work(hub_class):
    auto, total = points(source_notebook(ASSIGNMENT))
    source = nbformat.read(source_notebook(ASSIGNMENT), as_version=4)
    mcq = sum(
        nbgrader_meta(cell)["points"]
        for cell in source.cells
        if nbgrader_meta(cell).get("grade") and "check_answer(" in cell.source
    )
    assert 0 < mcq < auto
    expected = {"stu1": auto, "stu2": mcq, "stu3": 0.0}
    for role, score in expected.items():
        row = _row(hub_class, role)
        assert row["autograded"] and row["max_score"] == total, row
        assert row["score"] == score, f"{role} ({WORK[role]}): {row}"


def test_each_student_gets_their_own_feedback(hub_class):
    _, total = points(source_notebook(ASSIGNMENT))
    for role, person in hub_class.students.items():
        page = hub_class.feedback[role]
        score = _row(hub_class, role)["score"]
        assert f"Score: {score:g} / {total:g}" in page or f"{score} / {total}" in page, (
            f"{role}: score not in the feedback"
        )
        for other in hub_class.students.values():
            if other is not person:
                assert other.name not in page, f"{role}'s feedback names {other.name}"
    assert "KernelDied" in hub_class.feedback["stu3"]
    assert "KernelDied" not in hub_class.feedback["stu1"]


# --- who may read what -------------------------------------------------------------------------


def test_students_read_their_own_work_and_nothing_of_others(hub_class):
    for role, results in hub_class.probes.items():
        assert results["own notebook"] == "ok" and results["own feedback"] == "ok", results
        assert results["released assignments"] == "ok", results
        for label, result in results.items():
            if label.startswith(("home of", "notebook of", "feedback of", "submission of")):
                assert result == "denied", f"{role} can read the {label}: {result}"


def test_students_cannot_read_instructor_material(hub_class):
    private = (
        "inbox",
        "released feedback",
        "course directory",
        "source notebook",
        "gradebook",
        "autograded",
        "collected submissions",
        "grader's home",
    )
    for role, results in hub_class.probes.items():
        for label in private:
            assert results[label] == "denied", f"{role} can read the {label}: {results[label]}"


def test_students_cannot_reach_the_formgrader_or_other_servers(hub_class):
    run = hub_class
    stu1, stu2 = run.students["stu1"], run.students["stu2"]
    # the formgrader, its API and the hub's record of it
    for path in ("formgrader", f"formgrader/api/submissions/{ASSIGNMENT}", "api/contents"):
        status = stu1.get(run.service(path), allow_redirects=False).status_code
        assert status in (403, 404), f"a student got {status} from {path}"
    assert stu1.get(f"/hub/api/services/{COURSE_ID}").status_code in (403, 404)
    # another student's server, and what the hub tells about that student
    for path in (stu2.server("api/contents"), stu2.server("assignments?course_id=x")):
        assert stu1.get(path, allow_redirects=False).status_code in (403, 404), path
    assert stu1.get(f"/hub/api/users/{stu2.name}").status_code in (403, 404)
    # the instructor reaches the formgrader, but no student's server either
    teacher = run.instructor
    assert teacher.get(run.service(f"formgrader/api/submissions/{ASSIGNMENT}")).status_code == 200
    assert teacher.get(stu1.server("api/contents"), allow_redirects=False).status_code in (403, 404)


def test_a_submission_under_another_students_name_is_not_collected(hub_class):
    """stu3 submitted last, as stu1: stu1's own (solved) work is what was graded."""
    forger, victim = hub_class.students["stu3"].name, hub_class.students["stu1"].name
    assert f"names {victim} but was submitted by {forger}" in hub_class.collect_log
    assert _row(hub_class, "stu1")["score"] == points(source_notebook(ASSIGNMENT))[0]


def test_student_lists_show_only_what_they_submitted(hub_class):
    """A list shows the student's own submissions (stu3's also the one it forged as stu1)."""
    names = {role: person.name for role, person in hub_class.students.items()}
    for role, listed in hub_class.listed.items():
        made = {names[role]} | ({names["stu1"]} if role == "stu3" else set())
        for assignment in listed["value"]:
            for submission in assignment.get("submissions", []):
                assert submission["student_id"] in made, (role, submission)


def test_homes_are_private(hub_class):
    """Debian's useradd made them 755; the hub made them 700 (the grader's when it started)."""
    homes = {**hub_class.homes, "grader": hub_class.course_dir.parent}
    for role, home in homes.items():
        assert home.stat().st_mode & 0o077 == 0, f"{role}'s home is {oct(home.stat().st_mode)}"


# --- what people see -----------------------------------------------------------------------------


def test_screenshots_of_the_formgrader_and_a_students_assignment_list(hub_class):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    require_chromium()
    run = hub_class
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    local = urlparse(run.hub_url).netloc
    offsite: list[str] = []

    def only_local(route):  # the network is closed to everything but this hub
        if urlparse(route.request.url).netloc == local:
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    def login(context, person):
        page = context.new_page()
        page.goto(f"{run.hub_url}/hub/login")
        page.fill("#username_input", person.name)
        page.fill("#password_input", person.password)
        page.click("#login_submit")
        page.wait_for_url(lambda url: "/hub/login" not in url, timeout=60_000)
        return page

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # the instructor's formgrader
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.route("**/*", only_local)
            page = login(context, run.instructor)
            page.goto(f"{run.hub_url}{run.service('formgrader')}")
            page.get_by_text(ASSIGNMENT).first.wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "formgrader.png"), full_page=True)
            context.close()

            # a student: the formgrader is closed to them; their assignment list in JupyterLab
            student = run.students["stu1"]
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.route("**/*", only_local)
            page = login(context, student)
            response = page.goto(f"{run.hub_url}{run.service('formgrader')}")
            assert response.status == 403, f"a student's browser got {response.status}"
            page.screenshot(path=str(ARTIFACTS / "student-formgrader-403.png"))
            page.goto(f"{run.hub_url}{student.server('lab')}")
            page.locator("#jp-MainMenu").get_by_text("Nbgrader", exact=True).click(timeout=120_000)
            page.locator(".lm-Menu-content").get_by_text("Assignment List", exact=True).click()
            page.get_by_text(ASSIGNMENT).first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "student-assignment-list.png"))
            context.close()
        finally:
            browser.close()
    for name in ("formgrader.png", "student-assignment-list.png", "student-formgrader-403.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000, name
    assert not offsite, f"pages asked for other hosts: {offsite[:5]}"


def test_nothing_of_the_class_runs_as_anyone_else(hub_class):
    """Each student's server and kernel run as that student; the formgrader as the grader."""
    uid = {name: pwd.getpwnam(name).pw_uid for name in [hub_class.grader]}
    for person in hub_class.students.values():
        uid[person.name] = pwd.getpwnam(person.name).pw_uid
    for name, user_id in uid.items():
        commands = processes_of([user_id]).values()
        assert any("jupyterhub-singleuser" in cmd for cmd in commands), (name, list(commands))
