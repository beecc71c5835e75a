"""hardener.fsutil.realpath remembers folders' real paths (for one project) and answers as
os.path.realpath does: links to folders, relative links, dangling links, link loops, missing
components, a file used as a folder, "." and "..", relative paths -- in any order of asking."""

from __future__ import annotations

import os
import random

from hardener.fsutil import forget_folders, realpath


def test_realpath_answers_as_os_path_realpath(tmp_path):
    d = str(tmp_path)
    os.makedirs(f"{d}/a/b/c")
    os.symlink(f"{d}/a/b", f"{d}/l")
    os.symlink("b/c", f"{d}/a/rel")
    os.symlink(f"{d}/nowhere", f"{d}/dang")
    os.symlink(f"{d}/loop2", f"{d}/loop1")
    os.symlink(f"{d}/loop1", f"{d}/loop2")
    open(f"{d}/a/b/c/f", "w").close()
    paths = [d, f"{d}/a", f"{d}/l/c/f", f"{d}/a/rel/f", f"{d}/dang/x", f"{d}/loop1/x", f"{d}/missing/x/y",
             f"{d}/a/b/c/f/x", f"{d}/l/../a", "rel/x", f"{d}//a", "/", f"{d}/l", f"{d}/a/rel", f"{d}/a/./b"]
    rng = random.Random(7)
    forget_folders()
    for _ in range(5):
        for p in rng.sample(paths, len(paths)):
            assert realpath(p) == os.path.realpath(p), p


def test_relative_paths_answer_as_os_path_realpath(tmp_path, monkeypatch):
    """Relative to a working folder reached through a link: the kernel's working folder is real."""
    d = str(tmp_path)
    os.makedirs(f"{d}/a/b/c")
    os.symlink(f"{d}/a", f"{d}/via")
    os.symlink("b/c", f"{d}/a/rel")
    open(f"{d}/a/b/c/f", "w").close()
    os.symlink("b/loop", f"{d}/a/loop")  # a loop: a/loop -> a/b/loop -> a/loop
    os.symlink(f"{d}/a/loop", f"{d}/a/b/loop")
    monkeypatch.chdir(f"{d}/via")
    paths = ["b/c/f", "rel/f", "rel/../b", "./b", "b//c", "missing/x", "b/c/f/x", ".", "..", "rel",
             "loop/x", "loop/../c", "b/loop/f", f"{d}/a/loop/x", f"{d}/via/loop/f", "loop"]
    rng = random.Random(11)
    forget_folders()
    for _ in range(3):
        for p in rng.sample(paths, len(paths)):
            assert realpath(p) == os.path.realpath(p), p


def test_a_new_invocation_sees_a_folder_replaced_by_a_link(tmp_path):
    d = str(tmp_path)
    os.makedirs(f"{d}/x/y")
    os.makedirs(f"{d}/elsewhere/y")
    forget_folders()
    assert realpath(f"{d}/x/y/f") == f"{d}/x/y/f"
    os.rename(f"{d}/x", f"{d}/x-old")
    os.symlink(f"{d}/elsewhere", f"{d}/x")
    forget_folders()  # what the pipeline does at the start of each project
    assert realpath(f"{d}/x/y/f") == os.path.realpath(f"{d}/x/y/f") == f"{d}/elsewhere/y/f"
