// Small pieces shared by the addon's loop-driven objects (NativeSession,
// NativeIscsid): event-mask translation between poll(2) and libuv, handle
// deletion for uv_close, and the "can this environment still run JS" probe.
#pragma once

#include <napi.h>
#include <poll.h>
#include <uv.h>

namespace iscsi_addon {

// uv_close callback for the handles we allocate with new: each is deleted
// as the type it was allocated as (sized delete).
inline void DeleteHandle(uv_handle_t *h) {
  switch (h->type) {
    case UV_POLL: delete reinterpret_cast<uv_poll_t *>(h); break;
    case UV_TIMER: delete reinterpret_cast<uv_timer_t *>(h); break;
    case UV_CHECK: delete reinterpret_cast<uv_check_t *>(h); break;
    case UV_PREPARE: delete reinterpret_cast<uv_prepare_t *>(h); break;
    case UV_IDLE: delete reinterpret_cast<uv_idle_t *>(h); break;
    default: break;  // not one of ours
  }
}

// The core's wanted POLLIN/POLLOUT -> uv_poll_start flags.
inline int UvEventsFor(int poll_events) {
  return ((poll_events & POLLIN) ? UV_READABLE : 0) | ((poll_events & POLLOUT) ? UV_WRITABLE : 0);
}

// A uv_poll callback's (status, events) -> the revents the core services.
inline int PollReventsFor(int status, int events) {
  int revents = 0;
  if (status < 0) revents |= POLLERR;
  if (events & UV_READABLE) revents |= POLLIN;
  if (events & UV_WRITABLE) revents |= POLLOUT;
  if (events & UV_DISCONNECT) revents |= POLLHUP;
  return revents;
}

// True while the environment can still run JavaScript. When a worker is
// terminated (or the process is exiting), Node runs the loop once more
// (Environment::CleanupHandles) before the cleanup hooks: our poll/timer may
// fire then, and settling a promise or setting a property would fail with
// napi_pending_exception, which node-addon-api turns into a fatal error.
// Setting an element of a private array goes through the same check
// (NAPI_PREAMBLE) without side effects. The array is made once per
// environment (`probe`): this runs on every socket event, and a fresh object
// with a named property cost a string-table lookup and a map transition
// each time (seen in perf at queue depth 1).
inline bool CanCallJs(napi_env env, napi_ref *probe) {
  napi_value arr, val;
  if (!*probe) {
    if (napi_create_array(env, &arr) != napi_ok || napi_create_reference(env, arr, 1, probe) != napi_ok) {
      *probe = nullptr;
      return false;
    }
  } else if (napi_get_reference_value(env, *probe, &arr) != napi_ok || arr == nullptr) {
    return false;
  }
  if (napi_get_boolean(env, true, &val) != napi_ok) return false;
  return napi_set_element(env, arr, 0, val) == napi_ok;
}

}  // namespace iscsi_addon
