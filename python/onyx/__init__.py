"""onyx: run ONNX models from Python with the onyx C library (libonyx.so).

A thin binding over the C API with ctypes, so nothing is compiled:

    import numpy as np
    import onyx

    s = onyx.Session("model.onnx", threads=2)
    out = s.run({"x": np.ones((2, 10), np.float32)})   # {"y": array(...)}
    out = s.run({"x": x}, outputs=["y", "/linear1/Gemm_output_0"])  # any value

    f = onyx.Session("model.onnx", function="onyx.examples:Dense",
                     attributes={"scale": 2.0, "slope": 0.1})

Errors raise onyx.Error carrying the library's message and status.

The library is looked for in this order: the file named by $ONYX_LIB; libonyx.so next to
this package (in its folder or the one above); build/libonyx.so of the source tree this
package sits in, then of the current folder; an installed libonyx.so.0 (make install).
"""

import ctypes
import ctypes.util
import os
import threading

import numpy as np

__all__ = ["Session", "Error", "ValueInfo", "library_path"]
__version__ = "0.1.0"

# ---- the library ---------------------------------------------------------------


def _candidates():
    env = os.environ.get("ONYX_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    names = ("libonyx.so", "libonyx.so.0")
    paths = [os.path.join(d, n) for d in (here, os.path.dirname(here)) for n in names]
    repo = os.path.dirname(os.path.dirname(here))  # python/onyx -> the source tree
    paths.append(os.path.join(repo, "build", "libonyx.so"))
    paths.append(os.path.join(os.getcwd(), "build", "libonyx.so"))
    return paths


def _load():
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            return ctypes.CDLL(os.path.abspath(path)), os.path.abspath(path)
        tried.append(path)
    if not os.environ.get("ONYX_LIB"):
        found = ctypes.util.find_library("onyx")
        if found:
            return ctypes.CDLL(found), found
    raise ImportError(
        "onyx: libonyx.so not found (tried %s); build it with `make`, or set ONYX_LIB to its path"
        % ", ".join(tried)
    )


_lib, library_path = _load()

_c_model = ctypes.c_void_p
_c_session = ctypes.c_void_p
_c_tensor = ctypes.c_void_p
_NODE_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_double)


class _Options(ctypes.Structure):
    _fields_ = [
        ("threads", ctypes.c_int),
        ("node_callback", _NODE_CALLBACK),
        ("node_callback_user", ctypes.c_void_p),
        ("max_loop_iterations", ctypes.c_int64),
        ("disable_fusion", ctypes.c_int),
    ]


class _ValueInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_int),
        ("rank", ctypes.c_int),
        ("dims", ctypes.POINTER(ctypes.c_int64)),
        ("dim_names", ctypes.POINTER(ctypes.c_char_p)),
    ]



def _proto(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_P = ctypes.POINTER
_int, _size, _i64, _str = ctypes.c_int, ctypes.c_size_t, ctypes.c_int64, ctypes.c_char_p
_last_error = _proto("onyx_last_error", _str)
_status_name = _proto("onyx_status_name", _str, _int)
_dtype_name = _proto("onyx_dtype_name", _str, _int)
_model_load_file = _proto("onyx_model_load_file", _int, _str, _P(_c_model))
_model_load_buffer = _proto("onyx_model_load_buffer", _int, ctypes.c_void_p, _size, _P(_c_model))
_model_free = _proto("onyx_model_free", None, _c_model)
_model_ir_version = _proto("onyx_model_ir_version", _i64, _c_model)
_model_producer = _proto("onyx_model_producer", _str, _c_model)
_model_opset = _proto("onyx_model_opset", _i64, _c_model, _str)
_options_init = _proto("onyx_session_options_init", None, _P(_Options))
# the library fills the whole struct: our copy must be exactly as large
if _proto("onyx_session_options_size", _size)() != ctypes.sizeof(_Options):
    raise ImportError("onyx: libonyx's onyx_session_options has another size than this binding's "
                      "(%d bytes here): use a binding of the same version" % ctypes.sizeof(_Options))
_session_create = _proto("onyx_session_create", _int, _c_model, _P(_Options), _P(_c_session))
_session_create_function = _proto(
    "onyx_session_create_function", _int, _c_model, _str, _str, _P(_str), _size, _P(_Options), _P(_c_session)
)
_session_free = _proto("onyx_session_free", None, _c_session)
_input_count = _proto("onyx_session_input_count", _size, _c_session)
_output_count = _proto("onyx_session_output_count", _size, _c_session)
_input_info = _proto("onyx_session_input_info", _int, _c_session, _size, _P(_ValueInfo))
_output_info = _proto("onyx_session_output_info", _int, _c_session, _size, _P(_ValueInfo))
_arena_bytes = _proto("onyx_session_arena_bytes", _size, _c_session, _P(_int))
_session_run = _proto(
    "onyx_session_run", _int, _c_session, _size, _P(_str), _P(_c_tensor), _size, _P(_str), _P(_c_tensor)
)
_tensor_wrap = _proto("onyx_tensor_wrap", _int, _int, _int, _P(_i64), ctypes.c_void_p, _size, _P(_c_tensor))
_tensor_free = _proto("onyx_tensor_free", None, _c_tensor)
_tensor_dtype = _proto("onyx_tensor_dtype", _int, _c_tensor)
_tensor_rank = _proto("onyx_tensor_rank", _int, _c_tensor)
_tensor_dims = _proto("onyx_tensor_dims", _P(_i64), _c_tensor)
_tensor_count = _proto("onyx_tensor_count", _size, _c_tensor)
_tensor_nbytes = _proto("onyx_tensor_nbytes", _size, _c_tensor)
_tensor_data = _proto("onyx_tensor_data_const", ctypes.c_void_p, _c_tensor)
_seq_length = _proto("onyx_tensor_sequence_length", _size, _c_tensor)
_seq_item = _proto("onyx_tensor_sequence_item", _int, _c_tensor, _size, _P(_c_tensor))
_string_at = _proto("onyx_tensor_string", _int, _c_tensor, _size, _P(ctypes.c_void_p), _P(_size))

# ---- errors --------------------------------------------------------------------

_ERR_INVALID_ARGUMENT = 1
_ERR_UNSUPPORTED = 5


class Error(Exception):
    """A failed onyx call. message is the library's text; status the onyx_status
    number and status_name its name ("ONYX_ERR_PARSE", ...)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = int(status)
        self.status_name = _status_name(self.status).decode()
        self.message = message


def _check(status):
    if status != 0:
        raise Error(status, _last_error().decode("utf-8", "replace"))


def _text(s):
    return s.decode("utf-8", "replace") if s is not None else None


# ---- dtypes --------------------------------------------------------------------

_STRING = 8
# onyx dtype -> numpy dtype. Types numpy lacks come back as their raw bits: bfloat16 as
# uint16, the float8 and float4 types as uint8; the 4-bit integers one per byte.
_TO_NUMPY = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
    8: np.object_, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
    14: np.complex64, 15: np.complex128, 16: np.uint16, 17: np.uint8, 18: np.uint8, 19: np.uint8,
    20: np.uint8, 21: np.uint8, 22: np.int8, 23: np.uint8,
}
_FROM_NUMPY = {np.dtype(v): k for k, v in _TO_NUMPY.items() if k <= 15 and k != _STRING}
# values that are not tensors, as onyx_tensor_dtype reports them
_SEQUENCE, _NONE = 1001, 1002


class ValueInfo(tuple):
    """A graph input or output: name, dtype (a numpy dtype, or None when the model
    does not say), onnx_type (the ONNX element type's name, e.g. "float32") and shape
    (a tuple of ints, dim names (str) and None for unnamed unknown dims; None when
    the rank is unknown)."""

    __slots__ = ()

    def __new__(cls, name, dtype, onnx_type, shape):
        return tuple.__new__(cls, (name, dtype, onnx_type, shape))

    name = property(lambda self: self[0])
    dtype = property(lambda self: self[1])
    onnx_type = property(lambda self: self[2])
    shape = property(lambda self: self[3])

    def __repr__(self):
        return "ValueInfo(name=%r, dtype=%r, onnx_type=%r, shape=%r)" % tuple(self)


def _value_info(c):
    shape = None
    if c.rank >= 0:
        dims = []
        for r in range(c.rank):
            if c.dims[r] >= 0:
                dims.append(int(c.dims[r]))
            else:
                dims.append(_text(c.dim_names[r]))
        shape = tuple(dims)
    np_type = _TO_NUMPY.get(c.dtype)
    onnx_type = _text(_dtype_name(c.dtype)) if c.dtype else None
    return ValueInfo(_text(c.name), np.dtype(np_type) if np_type else None, onnx_type, shape)


def _attribute_text(name, value):
    def one(v):
        if isinstance(v, (bool, np.bool_)):
            return "1" if v else "0"
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if isinstance(v, (float, np.floating)):
            return repr(float(v))
        if isinstance(v, bytes):
            return v.decode()
        return str(v)

    if isinstance(value, (list, tuple, np.ndarray)):
        text = ",".join(one(v) for v in np.asarray(value).ravel().tolist())
    else:
        text = one(value)
    return "%s=%s" % (name, text)


# ---- sessions ------------------------------------------------------------------


class Session:
    """A model ready to run (or one of its model-local functions).

    model: a path to a .onnx file, or the file's bytes.
    threads: worker threads for heavy kernels (1: run on the calling thread).
    function: run this model-local function by itself: "NAME" or "DOMAIN:NAME"
        (the domain is what precedes the last ':'); attributes gives its attributes as
        a dict of numbers, lists of numbers or strings.
    node_callback: called as node_callback(node_name, op_type, seconds) after each node.
    max_loop_iterations: a Loop stops with an error after this many iterations (0: the
        library's default, 100,000,000).
    A session may be run from several threads at once; close() (or `with`) frees it.
    """

    def __init__(self, model, threads=1, function=None, attributes=None, node_callback=None,
                 max_loop_iterations=0):
        self._model = _c_model()
        self._session = _c_session()
        self._buffer = None
        self._lock = threading.Lock()
        if isinstance(model, (bytes, bytearray, memoryview)):
            # the library reads the buffer in place for the model's lifetime: keep an
            # aligned copy that we own
            self._buffer = np.frombuffer(bytes(model), dtype=np.uint8).copy()
            _check(_model_load_buffer(self._buffer.ctypes.data, self._buffer.nbytes, ctypes.byref(self._model)))
        else:
            _check(_model_load_file(os.fsencode(model), ctypes.byref(self._model)))
        try:
            opts = _Options()
            _options_init(ctypes.byref(opts))
            opts.threads = int(threads)
            opts.max_loop_iterations = int(max_loop_iterations)
            self._callback = None
            if node_callback is not None:

                def trampoline(user, name, op_type, seconds):
                    node_callback(_text(name), _text(op_type), seconds)

                self._callback = _NODE_CALLBACK(trampoline)
                opts.node_callback = self._callback
            if function is None:
                if attributes:
                    raise Error(_ERR_INVALID_ARGUMENT, "attributes need function=")
                _check(_session_create(self._model, ctypes.byref(opts), ctypes.byref(self._session)))
            else:
                domain, _, name = function.rpartition(":")
                texts = [_attribute_text(k, v).encode() for k, v in (attributes or {}).items()]
                arr = (_str * max(len(texts), 1))(*texts)
                _check(
                    _session_create_function(
                        self._model, domain.encode(), name.encode(), arr, len(texts),
                        ctypes.byref(opts), ctypes.byref(self._session),
                    )
                )
        except BaseException:
            self.close()
            raise
        self.inputs = self._infos(_input_count, _input_info)
        self.outputs = self._infos(_output_count, _output_info)

    def _infos(self, count, info):
        out = []
        for i in range(count(self._session)):
            c = _ValueInfo()
            _check(info(self._session, i, ctypes.byref(c)))
            out.append(_value_info(c))
        return out

    # -- model facts --
    @property
    def ir_version(self):
        return int(_model_ir_version(self._live_model()))

    @property
    def producer(self):
        return _text(_model_producer(self._live_model()))

    def opset(self, domain=""):
        """The opset version the model imports for domain (0 when none)."""
        return int(_model_opset(self._live_model(), domain.encode()))

    @property
    def arena_bytes(self):
        """Bytes of the activation arena of a run, or None until input shapes are known."""
        known = ctypes.c_int(0)
        n = _arena_bytes(self._live_session(), ctypes.byref(known))
        return int(n) if known.value else None

    def _live_model(self):
        if not self._model:
            raise Error(_ERR_INVALID_ARGUMENT, "the session is closed")
        return self._model

    def _live_session(self):
        if not self._session:
            raise Error(_ERR_INVALID_ARGUMENT, "the session is closed")
        return self._session

    # -- running --
    def run(self, inputs=None, outputs=None):
        """Run with inputs {name: array} and return {name: numpy array} for outputs
        (a list of value names: any value of the graph; None: the graph's outputs).
        An empty optional comes back as None."""
        session = self._live_session()
        inputs = dict(inputs or {})
        declared = {v.name: v for v in self.inputs}
        keep = []  # arrays the wrapped tensors point into, alive until the run returns
        handles = []
        try:
            if isinstance(outputs, (str, bytes)):
                raise Error(_ERR_INVALID_ARGUMENT, "outputs must be a list of names, not one string")
            names = list(self.outputs_names() if outputs is None else outputs)
            for name, value in inputs.items():
                handles.append(self._wrap(name, value, declared.get(name), keep))
            in_names = (_str * max(len(inputs), 1))(*[str(n).encode() for n in inputs])
            in_tensors = (_c_tensor * max(len(handles), 1))(*handles)
            out_names = (_str * max(len(names), 1))(*[str(n).encode() for n in names])
            results = (_c_tensor * max(len(names), 1))()
            _check(_session_run(session, len(inputs), in_names, in_tensors, len(names), out_names, results))
        finally:
            for h in handles:
                _tensor_free(h)
        try:
            return {name: _to_numpy(name, results[i]) for i, name in enumerate(names)}
        finally:
            for i in range(len(names)):
                _tensor_free(results[i])

    def outputs_names(self):
        return [v.name for v in self.outputs]

    @staticmethod
    def _wrap(name, value, info, keep):
        if info is not None and info.dtype is not None and not isinstance(value, np.ndarray):
            value = np.asarray(value, dtype=info.dtype)
        arr = np.require(value, requirements=["C_CONTIGUOUS", "ALIGNED"])
        onnx_dtype = _FROM_NUMPY.get(arr.dtype)
        if info is not None and info.dtype is not None and arr.dtype == info.dtype:
            # also the raw-bits types (bfloat16 as uint16, ...): the declared type says which
            onnx_dtype = _onnx_dtype_by_name(info.onnx_type, onnx_dtype)
        if onnx_dtype is None:
            if arr.dtype.kind in "OUS":
                raise Error(_ERR_UNSUPPORTED, "input '%s': string tensors cannot be passed from Python" % name)
            raise Error(_ERR_INVALID_ARGUMENT, "input '%s': numpy dtype %s has no onyx dtype" % (name, arr.dtype))
        keep.append(arr)
        dims = (_i64 * max(arr.ndim, 1))(*arr.shape)
        handle = _c_tensor()
        _check(_tensor_wrap(onnx_dtype, arr.ndim, dims, arr.ctypes.data, arr.nbytes, ctypes.byref(handle)))
        return handle

    # -- lifetime --
    def close(self):
        """Free the session and its model (safe to call twice)."""
        with self._lock:
            if self._session:
                _session_free(self._session)
                self._session = _c_session()
            if self._model:
                _model_free(self._model)
                self._model = _c_model()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_lock", None) is None:
            return
        try:
            self.close()
        except Exception:  # at interpreter exit the module's globals may be gone
            pass

    def __repr__(self):
        return "onyx.Session(inputs=%r, outputs=%r)" % ([v.name for v in self.inputs], self.outputs_names())


_DTYPE_BY_NAME = {}


def _onnx_dtype_by_name(type_name, default):
    if not _DTYPE_BY_NAME:
        for k in _TO_NUMPY:
            _DTYPE_BY_NAME[_text(_dtype_name(k))] = k
    return _DTYPE_BY_NAME.get(type_name, default)


def _to_numpy(name, t):
    dtype = _tensor_dtype(t)
    if dtype == _NONE:
        return None
    if dtype == _SEQUENCE:  # a list of arrays
        items = []
        for i in range(_seq_length(t)):
            h = _c_tensor()
            _check(_seq_item(t, i, ctypes.byref(h)))
            try:
                items.append(_to_numpy("%s[%d]" % (name, i), h))
            finally:
                _tensor_free(h)
        return items
    np_type = _TO_NUMPY.get(dtype)
    if np_type is None:
        raise Error(_ERR_UNSUPPORTED, "output '%s' has dtype %d, which the binding does not know" % (name, dtype))
    rank = _tensor_rank(t)
    dims_p = _tensor_dims(t)
    shape = tuple(int(dims_p[i]) for i in range(rank))
    count = _tensor_count(t)
    data = _tensor_data(t)
    if dtype == _STRING:
        out = np.empty(count, dtype=object)
        p, n = ctypes.c_void_p(), _size()
        for i in range(count):
            _check(_string_at(t, i, ctypes.byref(p), ctypes.byref(n)))
            out[i] = ctypes.string_at(p, n.value).decode("utf-8", "replace") if n.value else ""
        return out.reshape(shape)
    out = np.empty(shape, dtype=np_type)
    nbytes = _tensor_nbytes(t)
    if nbytes != out.nbytes:
        raise Error(_ERR_UNSUPPORTED, "output '%s': %d bytes where %d were expected" % (name, nbytes, out.nbytes))
    if nbytes:
        ctypes.memmove(out.ctypes.data, data, nbytes)
    return out
