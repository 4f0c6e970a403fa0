// Small pieces shared by the addon's loop-driven objects (NativeSession,
// NativeIscsid): event-mask translation between poll(2) and libuv, handle
// deletion for uv_close, and the "can this environment still run JS" probe.
#pragma once

#include <napi.h>
#include <poll.h>
#include <uv.h>

namespace iscsi_addon {

// uv_close callback for the poll/timer handles we allocate with new.
inline void DeleteHandle(uv_handle_t *h) {
  if (h->type == UV_POLL)
    delete reinterpret_cast<uv_poll_t *>(h);
  else
    delete reinterpret_cast<uv_timer_t *>(h);
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
// Setting a property on a fresh object goes through the same check
// (NAPI_PREAMBLE) without side effects.
inline bool CanCallJs(napi_env env) {
  napi_value obj, val;
  if (napi_create_object(env, &obj) != napi_ok) return false;
  if (napi_get_boolean(env, true, &val) != napi_ok) return false;
  return napi_set_named_property(env, obj, "probe", val) == napi_ok;
}

}  // namespace iscsi_addon
