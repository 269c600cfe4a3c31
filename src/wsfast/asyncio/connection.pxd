# The C types of connection.py for its compiled build (Cython's pure-Python mode): the same source
# runs as plain Python. The per-message steps are cdef; what the event loop, the client and server
# subclasses or the application call stays a Python method.

from wsfast.connection cimport Connection

# Private constants of the module, as C values (they are not module attributes once compiled).
cdef object _OPEN, _CLOSING, _CLOSED, _CONNECTING


cdef class _WebSocket:
    cdef object __weakref__
    cdef public object _close_timer
    cdef public object _closed_waiter
    cdef public Connection _conn
    cdef public bint _dispatching
    cdef public object _drain_waiter
    cdef public object _failure_timer
    cdef public object _keepalive_payload
    cdef public object _keepalive_timer
    cdef public object _loop
    cdef public object _lost_exc
    cdef public object _max_queue
    cdef public object _messages
    cdef public object _on_message
    cdef public object _on_open
    cdef public object _open_waiter
    cdef public list _pending
    cdef public object _pings
    cdef public object _read_view
    cdef public bint _reading_paused
    cdef public bint _reading_paused_by_writes
    cdef public object _recv_waiter
    cdef public Py_ssize_t _resume_at
    cdef public bint _resuming_processing
    cdef public bint _rx_seen
    cdef public bint _sent_since_recv
    cdef public object _transport
    cdef public bint _tx_seen
    cdef public Py_ssize_t _unpaced_bytes
    cdef public bint _vectored_writes
    cdef public Py_ssize_t _write_limit
    cdef public bint _writing_paused
    cdef public object close_timeout
    cdef public object handler_task
    cdef public object ping_interval
    cdef public object ping_timeout
    cdef public object request
    cdef public object response
    cdef public object server

    cdef _after_receive(self)
    cdef _messages_arrived(self)
    cdef _dispatch_messages(self)
    cdef _pause_reading(self)
    cdef _maybe_resume_reading(self)
    cdef _count_unpaced(self, list out)
    cdef _write(self, list pieces)
    cdef _write_soon(self, list pieces)
    cdef _send_fragment(self, object item, object first, bint fin)
    cdef _cancel_timers(self)
    cpdef _flush(self)
    cpdef _process_events(self, list events)
    cpdef _start_close_timer(self)
    cpdef _close_transport(self)
    cpdef _closed_exception(self)
    cpdef _fail_pending_now(self)
