# The C types of _deflate_codec.py for its compiled build (Cython's pure-Python mode): the same
# source runs as plain Python. The connection calls compress() and decompress() per compressed
# message: they are cpdef (a C call from compiled code, an ordinary method from Python).

# Private constants of the module, as C values (they are not module attributes once compiled).
cdef bytes _TAIL
cdef int _SYNC_FLUSH
cdef Py_ssize_t _JOIN_TAIL_LIMIT, _INFLATE_STEP

cpdef Py_ssize_t _inflate_into(list pieces, object decompressor, object data, Py_ssize_t size,
                               object limit) except -1
cdef bytes _inflate(object decompressor, object data, object limit)


cdef class DeflateCodec:
    cdef public int _compress_bits
    cdef public object _compressor
    cdef public object _decompressor
    cdef public object _error
    cdef public int _level
    cdef public int _mem_level
    cdef public object agreed
    cdef public object backend
    cdef public Py_ssize_t compress_threshold
    cdef public bint reset_compressor
    cdef public bint reset_decompressor
    cdef public object shared_key

    cpdef bytes compress(self, data, bint fin=*)
    cpdef bytes decompress(self, data, bint fin, limit)
    cpdef bint release_compressor(self)
