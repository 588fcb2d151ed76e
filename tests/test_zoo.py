"""Bundles and the zoo, for real: export, then import over a local HTTP server's real client path
(range requests, a download cut short and resumed, a truncated and a tampered file), through
fsspec's memory file system (what stands in for a bucket or the Hub), and from a tar; round trips
compared bit for bit."""

import hashlib
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from run_helpers import assert_one_line_error

from benchbench.cli import cli
from benchbench.sharing import transfer
from benchbench.storage.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


def invoke(cli_runner, *args, code=0):
    out = cli_runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert out.exit_code == code, out.output
    return out


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with range requests (as nginx, S3 or the Hub serve them); each GET is logged
    with its Range, and a ``(path, Range)`` in ``cut`` has its body cut short once, then the
    connection dropped."""

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def _serve(self, body):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data, wanted = path.read_bytes(), self.headers.get("Range")
        if body:
            self.server.log.append((self.path, wanted))
        start, end, status = 0, len(data) - 1, 200
        if wanted:
            first, last = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted).groups()
            start, end, status = int(first), min(int(last or end), end), 206
            if start >= len(data):
                self.send_error(416)
                return
        self.send_response(status)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if body:
            cut = self.server.cut.pop((self.path, wanted), None)
            self.wfile.write(data[start : end + 1] if cut is None else data[start : start + cut])
            if cut is not None:
                self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A folder served on 127.0.0.1: ``(folder, base URL, server)``."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Handler(*a, directory=str(root)))
    httpd.log, httpd.cut = [], {}
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def bundled(finished, tmp_path_factory):
    """The finished smoke run's bundle, as a folder and as a tar."""
    where = tmp_path_factory.mktemp("bundles")
    from click.testing import CliRunner

    for dest in ("smoke", "smoke.tar"):
        out = CliRunner().invoke(cli, ["export", str(finished), str(where / dest)], catch_exceptions=False)
        assert out.exit_code == 0, out.output
    return where


def weights(run: Path) -> dict[str, dict[str, torch.Tensor]]:
    return {p.parent.name: torch.load(p, weights_only=True) for p in sorted(run.glob("cells/*/model.pt"))}


def assert_same_models(cli_runner, a: Path, b: Path):
    """The same weights, bit for bit, and every evaluation identical (``compare``)."""
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and wa
    assert all(torch.equal(wa[c][k], wb[c][k]) for c in wa for k in wa[c])
    out = invoke(cli_runner, "compare", a, b)
    verdicts = [line for line in out.output.splitlines() if ": " in line and "max |Δ|" in line]
    assert verdicts and all("identical" in line for line in verdicts), out.output


def test_a_bundle_is_verifiable_without_benchbench(bundled, finished):
    """sha256sum -c checks it; bundle.json lists every other file's size and hash; its hash is the bundle's."""
    folder = bundled / "smoke"
    listing = json.loads((folder / "bundle.json").read_bytes())
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(listing["files"]) == on_disk - {"bundle.json", "SHA256SUMS"}
    for name, facts in listing["files"].items():
        data = (folder / name).read_bytes()
        assert facts == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    sums = dict(reversed(line.split("  ")) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert sums["bundle.json"] == hashlib.sha256((folder / "bundle.json").read_bytes()).hexdigest()
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=folder, check=True)
    cells = sorted(p.name for p in (finished / "cells").iterdir())
    assert sorted(listing["cells"]) == cells and listing["weights"] == "safetensors"
    card = (folder / "README.md").read_text()
    assert all(c in card for c in cells) and "torch" in card and "sha256sum -c SHA256SUMS" in card
    beta = listing["cells"][cells[0]]["headline"]["beta_vae_score"]["eval_accuracy"]
    assert f"{beta:.4g}" in card
    import safetensors.torch  # the weights load without benchbench, as the trained tensors

    for cell in cells:
        original = torch.load(finished / "cells" / cell / "model.pt", weights_only=True)
        loaded = safetensors.torch.load_file(folder / "cells" / cell / "model.safetensors")
        assert original.keys() == loaded.keys() and all(torch.equal(original[k], loaded[k]) for k in original)


def test_export_is_whole_or_nothing(finished, tmp_path, cli_runner, monkeypatch):
    dest = tmp_path / "b"
    dest.mkdir()
    assert_one_line_error(invoke(cli_runner, "export", finished, dest, code=2), "exists")

    from benchbench.sharing import bundle

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bundle, "_tar", broken)
    with pytest.raises(RuntimeError):
        bundle.export_run(RunStore(finished), str(tmp_path / "new.tar"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no bundle, no leftover
    assert_one_line_error(invoke(cli_runner, "export", finished, tmp_path / "c", "--cells", "zz", code=2), "zz")
    baselines = ROOT / "results" / "reference" / "baselines"  # encoders scored there, none trained
    out = invoke(cli_runner, "export", baselines, tmp_path / "c", code=2)
    assert_one_line_error(out, "no trained model to export", "scored encoders were not trained here")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_round_trip_over_http_is_identical_bit_for_bit(bundled, finished, server, tmp_path, cli_runner):
    root, url, _ = server
    shutil.copytree(bundled / "smoke", root / "smoke")
    shutil.copy(bundled / "smoke.tar", root / "smoke.tar")
    for source, name in ((f"{url}/smoke", "folder"), (f"{url}/smoke.tar", "tar")):
        out = invoke(cli_runner, "import", source, "--name", name, "--results", tmp_path)
        assert "2 installed" in out.output
        assert_same_models(cli_runner, finished, tmp_path / name)
        status = json.loads(next((tmp_path / name).glob("cells/*/status.json")).read_text())
        listing_hash = hashlib.sha256((bundled / "smoke" / "bundle.json").read_bytes()).hexdigest()
        assert status["imported"]["from"] == source and status["status"] == "trained"
        assert name == "tar" or status["imported"]["bundle"] == listing_hash
    assert not (tmp_path / ".imports").exists()  # nothing staged is left
    out = invoke(cli_runner, "status", tmp_path / "folder", "--cells", "--verify")
    assert out.output.count(f"imported from {url}/smoke") == 2 and "all match" in out.output
    # An imported run is a run: the grid trains nothing, a new evaluation computes the same as on the original.
    out = invoke(cli_runner, "run", "--grid", "smoke", "--methods", "beta_vae", "--device", "cpu", "--no-progress",
                 "--name", "folder", "--results", tmp_path)  # fmt: skip
    assert "0 to train" in out.output, out.output
    copy = shutil.copytree(finished, tmp_path / "copy")
    for run in (copy, tmp_path / "folder"):
        invoke(cli_runner, "evaluate", run, "--metrics", "mig", "--option", "mig.num_train=150", "--no-progress")
    new = [{p.parent.parent.parent.parent.name: json.loads(p.read_text())["values"]
            for p in run.glob("cells/*/evaluations/mig/*/evaluation.json")
            if json.loads(p.read_text())["options"]["num_train"] == 150}
           for run in (copy, tmp_path / "folder")]  # fmt: skip
    assert len(new[0]) == 2 and new[0] == new[1]


def test_a_truncated_or_tampered_file_is_refused_in_one_line(bundled, server, tmp_path, cli_runner):
    root, url, _ = server
    folder = shutil.copytree(bundled / "smoke", root / "smoke")
    model = next(folder.glob("cells/*/model.safetensors"))
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    out = invoke(cli_runner, "import", f"{url}/smoke", "--results", tmp_path / "r", code=2)
    assert_one_line_error(
        out, "model.safetensors", f"has {len(data) // 2} bytes, not the {len(data)}", "nothing imported"
    )
    model.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    out = invoke(cli_runner, "import", f"{url}/smoke", "--results", tmp_path / "r", code=2)
    assert_one_line_error(out, "model.safetensors", "other bytes", "nothing imported")
    assert not (tmp_path / "r" / "smoke").exists()  # nothing kept
    tar = (bundled / "smoke.tar").read_bytes()
    (root / "cut.tar").write_bytes(tar[: len(tar) - 20000])
    out = invoke(cli_runner, "import", f"{url}/cut.tar", "--results", tmp_path / "r", code=2)
    assert_one_line_error(out, "cut.tar", "nothing imported")
    model.write_bytes(data)  # the server's copy mended: the next try fetches it anew
    invoke(cli_runner, "import", f"{url}/smoke", "--results", tmp_path / "r")


def test_a_download_cut_short_resumes_from_its_last_byte(bundled, finished, server, tmp_path, cli_runner, monkeypatch):
    root, url, httpd = server
    shutil.copytree(bundled / "smoke", root / "smoke")
    monkeypatch.setattr(transfer, "CHUNK", 256 << 10)  # several range requests per model file
    model = "/smoke/" + next((root / "smoke").glob("cells/*/model.safetensors")).relative_to(root / "smoke").as_posix()
    httpd.cut[(model, "bytes=262144-524287")] = 100  # its second request drops after 100 bytes
    out = invoke(cli_runner, "import", f"{url}/smoke", "--results", tmp_path, code=2)
    assert_one_line_error(out, "download stopped after 262144 bytes", "run the same command again")
    assert not (tmp_path / "smoke").exists()
    first = len(httpd.log)
    invoke(cli_runner, "import", f"{url}/smoke", "--results", tmp_path)
    again = [r for p, r in httpd.log[first:] if p == model]
    assert again[0] == "bytes=262144-524287", again  # resumed at its last byte, not from 0
    assert_same_models(cli_runner, finished, tmp_path / "smoke")


def test_a_cloud_store_through_fsspec_memory_file_system(finished, tmp_path, cli_runner):
    """Export to and import from a URL of another file system (memory:// stands in for s3://, hf://)."""
    for dest in ("memory://zoo/smoke", "memory://zoo/smoke.tar"):
        invoke(cli_runner, "export", finished, dest)
        assert_one_line_error(invoke(cli_runner, "export", finished, dest, code=2), "exists")
        name = dest.rsplit("/", 1)[1].replace(".", "-")
        invoke(cli_runner, "import", dest, "--name", name, "--results", tmp_path)
        assert_same_models(cli_runner, finished, tmp_path / name)


def relisted(folder: Path) -> None:
    """Rewrite a bundle's listing and sums after its files were changed: checksums that hold."""
    listing = json.loads((folder / "bundle.json").read_bytes())
    for name in listing["files"]:
        data = (folder / name).read_bytes()
        listing["files"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "bundle.json").write_text(json.dumps(listing))


def test_cell_ids_must_be_their_configs_hashes(bundled, tmp_path, cli_runner):
    folder = shutil.copytree(bundled / "smoke", tmp_path / "forged")
    config = next(folder.glob("cells/*/config.json"))
    (config.parent / "config.json").write_text(config.read_text().replace('"seed": 0', '"seed": 7'))
    relisted(folder)
    out = invoke(cli_runner, "import", folder, "--results", tmp_path / "r", code=2)
    assert_one_line_error(out, f"cell {config.parent.name}'s config hashes to", "do not match", "nothing imported")
    assert not (tmp_path / "r" / "smoke").exists()
    # A record that is not one, and a listing that says a model failed: refused, and not believed.
    folder = shutil.copytree(bundled / "smoke", tmp_path / "forged2")
    record = next(folder.glob("cells/*/evaluations/mig/*/evaluation.json"))
    record.write_text("[1, 2]")
    relisted(folder)
    out = invoke(cli_runner, "import", folder, "--results", tmp_path / "r", code=2)
    assert_one_line_error(out, "evaluation.json is not a whole evaluation record", "nothing imported")
    folder = shutil.copytree(bundled / "smoke", tmp_path / "forged3")
    listing = json.loads((folder / "bundle.json").read_text())
    for entry in listing["cells"].values():
        entry["training"].update(status="failed", error="forged")
    (folder / "bundle.json").write_text(json.dumps(listing))
    invoke(cli_runner, "import", folder, "--results", tmp_path / "r")
    statuses = [json.loads(p.read_text()) for p in (tmp_path / "r" / "smoke").glob("cells/*/status.json")]
    assert [s["status"] for s in statuses] == ["trained"] * 2 and not any("error" in s for s in statuses)


def test_merging_adds_what_a_run_lacks_and_duplicates_nothing(finished, tmp_path, cli_runner):
    source = shutil.copytree(finished, tmp_path / "smoke")
    invoke(cli_runner, "export", source, tmp_path / "b1")
    cells = sorted(p.name for p in (source / "cells").iterdir())
    # A run holding one model unfinished and lacking the other: both installed, nothing trained twice.
    target = tmp_path / "results" / "smoke"
    shutil.copytree(source, target)
    shutil.rmtree(target / "cells" / cells[1])
    (target / "cells" / cells[0] / "model.pt").unlink()
    (target / "cells" / cells[0] / "status.json").write_text('{"status": "pending"}')
    out = invoke(cli_runner, "import", tmp_path / "b1", "--results", tmp_path / "results")
    assert "2 installed" in out.output
    assert_same_models(cli_runner, source, target)
    assert "2 already here" in invoke(cli_runner, "import", tmp_path / "b1", "--results", tmp_path / "results").output
    # The source gains an evaluation; its next bundle brings only that to the same weights.
    invoke(cli_runner, "evaluate", source, "--metrics", "mig", "--option", "mig.num_train=150", "--no-progress")
    invoke(cli_runner, "export", source, tmp_path / "b2")
    out = invoke(cli_runner, "import", tmp_path / "b2", "--results", tmp_path / "results")
    assert "2 evaluations added" in out.output
    assert_same_models(cli_runner, source, target)
    added = [json.loads(p.read_text()) for p in target.glob("cells/*/evaluations/mig/*/evaluation.json")]
    assert len(added) == 4 and sum("imported" in r for r in added) == 4  # the grid's (installed) and the new
    manifest = json.loads((target / "manifest.json").read_text())
    assert [len(e["cells"]) for e in manifest["imported"]] == [2, 2, 2] and manifest["cells"] == cells
    # Other weights under the same id are kept, never overwritten.
    other = tmp_path / "other" / "smoke"
    shutil.copytree(source, other)
    model = next(other.glob("cells/*/model.pt"))
    state = torch.load(model, weights_only=True)
    torch.save({k: v + 1 for k, v in state.items()}, model)
    out = invoke(cli_runner, "import", tmp_path / "b2", "--results", tmp_path / "other")
    assert "1 kept" in out.output and "1 already here" in out.output
    assert torch.equal(torch.load(model, weights_only=True)[next(iter(state))], next(iter(state.values())) + 1)


def test_a_run_of_another_grid_or_weights_is_refused(finished, tmp_path, cli_runner):
    invoke(cli_runner, "export", finished, tmp_path / "b")
    invoke(cli_runner, "export", finished, tmp_path / "records", "--no-weights")
    other = tmp_path / "results" / "smoke"
    shutil.copytree(finished, other)
    manifest = json.loads((other / "manifest.json").read_text())
    changed = json.loads(json.dumps(manifest))
    changed["grid"]["spec"]["seeds"] = 5
    (other / "manifest.json").write_text(json.dumps(changed))
    out = invoke(cli_runner, "import", tmp_path / "b", "--results", tmp_path / "results", code=2)
    assert_one_line_error(out, "made by the grid smoke with other settings", "--name")
    (other / "manifest.json").write_text(json.dumps(manifest))
    out = invoke(cli_runner, "import", tmp_path / "records", "--results", tmp_path / "results", code=2)
    assert_one_line_error(out, "holds no weights", "--name")
    assert json.loads((other / "manifest.json").read_text()) == manifest  # nothing written


def test_the_reference_run_exports_and_imports_without_weights(tmp_path, cli_runner):
    reference = ROOT / "results" / "reference" / "quick"
    out = invoke(cli_runner, "export", reference, tmp_path / "quick.tar")
    assert "without weights" in out.output
    invoke(cli_runner, "import", tmp_path / "quick.tar", "--results", tmp_path)
    out = invoke(cli_runner, "compare", reference, tmp_path / "quick")
    assert out.output.strip().splitlines()[-1].startswith("all ") and "within 0 on 3 shared models" in out.output
    assert json.loads((tmp_path / "quick" / "manifest.json").read_text())["weights"] == "not kept"
    out = invoke(cli_runner, "status", tmp_path / "quick")
    assert "3 trained" in out.output and "missing" not in out.output.split(";")[0]
    invoke(cli_runner, "report", tmp_path / "quick", "--format", "csv")
    assert (tmp_path / "quick" / "report" / "aggregate.csv").is_file()


def test_a_zoo_lists_its_bundles_and_pull_fetches_only_the_models_asked(bundled, finished, server, tmp_path,
                                                                        cli_runner):  # fmt: skip
    root, url, httpd = server
    shutil.copytree(bundled / "smoke", root / "smoke")
    shutil.copy(bundled / "smoke.tar", root / "smoke.tar")
    out = invoke(cli_runner, "zoo", "index", root)
    assert "2 bundles, 4 models" in out.output
    cells = sorted(p.name for p in (finished / "cells").iterdir())
    page = (root / "README.md").read_text()
    assert page.count(f"`{cells[0]}`") == 2 and "smoke/README.md" in page
    listed = invoke(cli_runner, "zoo", "list", url).output
    assert all(c in listed for c in cells) and "beta_vae_score.eval_accuracy" in listed
    out = invoke(cli_runner, "pull", url, cells[0][:6], "--results", tmp_path)
    assert "1 model from bundle" in out.output and "1 installed" in out.output
    fetched = {p for p, _ in httpd.log}
    assert not any(cells[1] in p for p in fetched) and "/smoke.tar" not in fetched  # only what was asked
    assert sorted(p.name for p in (tmp_path / "smoke" / "cells").iterdir()) == [cells[0]]
    original = torch.load(finished / "cells" / cells[0] / "model.pt", weights_only=True)
    pulled = torch.load(tmp_path / "smoke" / "cells" / cells[0] / "model.pt", weights_only=True)
    assert all(torch.equal(original[k], pulled[k]) for k in original)
    # A bundle that is not the one the index names is refused.
    index = json.loads((root / "zoo.json").read_text())
    index["bundles"][0]["hash"] = "0" * 64
    (root / "zoo.json").write_text(json.dumps(index))
    out = invoke(cli_runner, "pull", f"{url}/zoo.json", cells[1], "--results", tmp_path, code=2)
    assert_one_line_error(out, "not the 0000000000000000 its zoo lists", "nothing imported")
    assert_one_line_error(invoke(cli_runner, "zoo", "list", f"{url}/nothing", code=2), "not found")


def test_what_is_not_a_bundle_or_cannot_be_read_is_one_line(tmp_path, cli_runner):
    results = tmp_path / "results"
    out = invoke(cli_runner, "import", tmp_path / "nothing", "--results", results, code=2)
    assert_one_line_error(out, "no bundle at", "no bundle.json there")
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    assert_one_line_error(invoke(cli_runner, "import", tmp_path / "junk.tar", "--results", results, code=2), "tar")
    out = invoke(cli_runner, "import", "unknownfs://bucket/b", "--results", results, code=2)
    assert_one_line_error(out, "unknownfs://bucket/b")
    assert not (results / ".imports").exists()  # nothing staged stays behind


@pytest.fixture(scope="module")
def faults_bundle(tmp_path_factory):
    """The faults grid (two packs of two, each model kept at steps 10 and 30) run once and exported."""
    from faults import uninterrupted

    root = tmp_path_factory.mktemp("faults")
    expected, run_dir = uninterrupted(root)
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["export", str(run_dir), str(root / "bundle")], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    return expected, root / "bundle"


@pytest.mark.faults
@pytest.mark.parametrize(
    "kill_after", ["RunStore.write_manifest:1", "CellStore.save_model:4", "CellStore.mark_trained:2"]
)
def test_an_import_killed_anywhere_finishes_with_the_same_bits(faults_bundle, tmp_path, kill_after):
    """kill -9 after the manifest, inside a model's snapshots, between a cell built and put in
    place; the same command again gives every weight, curve and value of the exported run."""
    from faults import KILLER, assert_same, finish, launch, snapshot

    expected, bundle = faults_bundle
    args = [sys.executable, str(KILLER), "import", str(bundle), "--results", str(tmp_path)]
    assert launch(args, kill_after) == -9
    assert (tmp_path / ".imports").is_dir()  # staged, to resume from
    finish(args)
    assert_same(snapshot(tmp_path / "faults"), expected)
    assert not (tmp_path / ".imports").exists()
