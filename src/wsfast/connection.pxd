# The C types of connection.py for its compiled build (Cython's pure-Python mode): the same source
# runs as plain Python. Methods other layers call per message are cpdef (a C call from compiled
# code, an ordinary method from Python); the internal steps are cdef.

cimport cython

from wsfast._deflate_codec cimport DeflateCodec

# Private constants of the module, as C values (they are not module attributes once compiled).
cdef int _OP_CONT, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG
cdef object CONNECTING, OPEN, CLOSING, CLOSED


cdef class Connection:
    cdef readonly bint is_client
    cdef public bint _mask_frames
    cdef public object state
    cdef public list _events
    cdef public list _out
    cdef public object _parser
    cdef public DeflateCodec _codec
    cdef readonly object pending_failure
    cdef readonly bint processing_paused
    cdef public object message_queue
    cdef public object inflate_budget
    cdef public object _held_frames
    cdef public object _held_failure
    cdef public Py_ssize_t _inflated
    cdef public object max_message_size
    cdef public object max_frame_size
    cdef public object max_fragments
    cdef public bint auto_pong
    cdef public bint text_as_bytes
    cdef public bint stream_fragments
    cdef public object compression
    cdef public object subprotocol
    cdef public object extensions
    cdef public object close_sent
    cdef public object close_received
    cdef public object close_code
    cdef public object close_reason
    cdef public bint should_close_transport
    cdef public int _msg_opcode
    cdef public object _msg_buffer
    cdef public bint _msg_compressed
    cdef public object _msg_decoder
    cdef public Py_ssize_t _msg_fragments
    cdef public Py_ssize_t _msg_inflated
    cdef public int _send_opcode
    cdef public bint _send_compressed

    cpdef list events(self)
    cpdef list data_to_send(self)
    cpdef receive_data(self, data)
    cpdef resume_processing(self)
    cpdef receive_eof(self)
    cpdef fail(self, int code=*, str reason=*)
    cpdef send_text(self, data, bint fin=*)
    cpdef send_binary(self, data, bint fin=*)
    cpdef send_continuation(self, data, bint fin=*)
    cpdef send_ping(self, data=*)
    cpdef send_pong(self, data=*)
    cpdef send_close(self, code=*, str reason=*)
    cpdef bint release_compressor(self)

    @cython.locals(opcode=int, index=Py_ssize_t)
    cdef _process_frames(self, list frames, object failure)
    cdef _receive_frame(self, object frame)
    @cython.locals(codec=DeflateCodec)
    cdef _receive_data_frame(self, int opcode, object payload, bint fin, bint rsv1)
    cdef _deliver(self, int opcode, object data)
    cdef object _text(self, object payload)
    cdef _deliver_fragment(self, int opcode, object payload, bint first, bint last)
    cdef _receive_ping(self, object payload)
    cdef _receive_close(self, object payload)
    cdef _after_close_exchange(self)
    cdef _receive_violation(self, int code, str reason)
    cdef _fail(self, int code, str reason)
    cdef _open(self, object codec, object rest)
    cdef object _wire_message_limit(self, object codec)
    cdef _check_can_send_message(self)
    @cython.locals(codec=DeflateCodec)
    cdef _send_data(self, int opcode, object payload, bint fin)
    cdef _send_control(self, int opcode, object data)
    cdef _send_close_frame(self, int code, str reason)


cdef class ServerConnection(Connection):
    cdef public object _early_data
    cdef public object _handshake
    cdef public object _head_reader
    cdef public object max_headers
    cdef public object origins
    cdef public object request
    cdef public object subprotocols


cdef class ClientConnection(Connection):
    cdef public object _body_reader
    cdef public object _head_reader
    cdef public object _rejection
    cdef public object key
    cdef public object max_body_size
    cdef public object max_headers
    cdef public object offered_subprotocols
    cdef public object uri
