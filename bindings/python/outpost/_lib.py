"""Loading liboutpost and declaring the C ABI of include/outpost.h.

The library is loaded on first use, not at import, so that ``import outpost``
works (and tells what it could not find) on a machine without it. Where it
comes from, first match wins:

1. ``$OUTPOST_LIBRARY``: a path to the shared library;
2. ``ctypes.util.find_library("outpost")`` (the linker's search path);
3. ``liboutpost.so.1``, then ``liboutpost.so`` (the dynamic loader's path,
   ``LD_LIBRARY_PATH`` included).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

ABI_VERSION = 1  # OUTPOST_ABI_VERSION of the header this binding follows


class OutpostError(ctypes.Structure):
    """struct outpost_error: a code and an owned message (NULL when OK)."""

    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_void_p)]


# typedef int (*outpost_progress_fn)(void *user_data, const char *progress_json);
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)
# typedef void (*outpost_log_fn)(void *user_data, const char *line);
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)

_db_p = ctypes.c_void_p  # outpost_db *, opaque
_str = ctypes.c_char_p  # const char *, borrowed for the call
_out = ctypes.POINTER(ctypes.c_void_p)  # char **: kept as a raw pointer, freed with outpost_free
_err = ctypes.POINTER(OutpostError)
_code = ctypes.c_int  # outpost_code

# name: (restype, argtypes). Every function of outpost.h.
_PROTOTYPES = {
    "outpost_version": (ctypes.c_char_p, []),
    "outpost_abi_version": (ctypes.c_int, []),
    "outpost_code_name": (ctypes.c_char_p, [ctypes.c_int]),
    "outpost_free": (None, [ctypes.c_void_p]),
    "outpost_error_clear": (None, [_err]),
    "outpost_open": (_code, [_str, _str, ctypes.POINTER(_db_p), _err]),
    "outpost_close": (None, [_db_p]),
    "outpost_info": (_code, [_db_p, _out, _err]),
    "outpost_table_put": (_code, [_db_p, _str, _str, _out, _err]),
    "outpost_table_get": (_code, [_db_p, _str, _out, _err]),
    "outpost_table_list": (_code, [_db_p, _out, _err]),
    "outpost_put": (_code, [_db_p, _str, _str, _str, _str, _out, _err]),
    "outpost_create": (_code, [_db_p, _str, _str, _out, _err]),
    "outpost_delete": (_code, [_db_p, _str, _str, _str, _out, _err]),
    "outpost_resolve": (_code, [_db_p, _str, _str, _str, _str, _out, _err]),
    "outpost_bulk_docs": (_code, [_db_p, _str, _out, _err]),
    "outpost_get": (_code, [_db_p, _str, _str, _str, _out, _err]),
    "outpost_list": (_code, [_db_p, _str, _str, _out, _err]),
    "outpost_conflicts": (_code, [_db_p, _str, _out, _err]),
    "outpost_changes": (_code, [_db_p, _str, _out, _err]),
    "outpost_sync": (_code, [_db_p, _str, _str, PROGRESS_FN, ctypes.c_void_p, _out, _err]),
    "outpost_cancel": (None, [_db_p]),
    "outpost_scope_get": (_code, [_db_p, _out, _err]),
    "outpost_scope_set": (_code, [_db_p, _str, _out, _err]),
    "outpost_scope_clear": (_code, [_db_p, _out, _err]),
    "outpost_log_level": (_code, [_str, _err]),
    "outpost_log_sink": (None, [LOG_FN, ctypes.c_void_p]),
}

# Functions added to ABI 1 after its first release (none yet): a library
# of the same ABI version built before them would load all the same, and
# calling one of them raises (see missing()).
_ADDED_LATER: set = set()
_missing: set = set()

_lock = threading.Lock()
_lib = None
_path = None


def _candidates():
    env = os.environ.get("OUTPOST_LIBRARY")
    if env:
        return [env]  # an explicit path is the only one tried: no silent fallback
    names = []
    found = ctypes.util.find_library("outpost")
    if found:
        names.append(found)
    names += ["liboutpost.so.1", "liboutpost.so"]
    return names


def load():
    """The loaded library, with every prototype declared (loads it once)."""
    global _lib, _path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        errors = []
        lib = None
        for name in _candidates():
            try:
                lib = ctypes.CDLL(name)
                _path = name
                break
            except OSError as e:
                errors.append(f"{name}: {e}")
        if lib is None:
            raise OSError(
                "cannot load liboutpost (set OUTPOST_LIBRARY to its path): " + "; ".join(errors)
            )
        for fname, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(lib, fname)
            except AttributeError:
                if fname in _ADDED_LATER:
                    _missing.add(fname)
                    continue
                raise OSError(f"{_path} lacks {fname}: it is not the outpost library this binding needs") from None
            fn.restype = restype
            fn.argtypes = argtypes
        abi = lib.outpost_abi_version()
        if abi != ABI_VERSION:
            raise OSError(f"{_path} has ABI version {abi}; this binding needs {ABI_VERSION}")
        _lib = lib
        return lib


def function(name: str):
    """A function of the library; OSError when this build of it lacks one
    that was added to the ABI later."""
    lib = load()
    if name in _missing:
        raise OSError(f"{_path} has no {name}: it was built before {name} was added to outpost.h")
    return getattr(lib, name)


def path():
    """Where the library was loaded from (None before it is)."""
    return _path


def take_string(lib, ptr):
    """Copies an owned char * (a c_void_p) into a Python str and frees it."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.outpost_free(ptr)
