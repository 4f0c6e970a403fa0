// NativeSession: one C isc_ctx driven from the calling thread's libuv loop.
//
// The socket is watched with a uv_poll_t and the core's deadlines with a
// uv_timer_t, both on the loop of the environment that created the session
// (main thread or worker), so no network wait ever blocks JS or parks a
// threadpool thread. Promises are settled from the core's completion
// callbacks inside a CallbackScope so their reactions run promptly.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <string>

extern "C" {
#include "isc/iscsi.h"
}

namespace iscsi_addon {

class NativeSession;
class NativeIscsid;

// Per-environment state: the live sessions, closed by the cleanup hook when
// the environment (process or worker) goes away.
struct AddonData {
  Napi::FunctionReference session_ctor;
  NativeSession *sessions = nullptr;  // intrusive list
  NativeIscsid *iscsids = nullptr;    // intrusive list (iscsid.h)
  napi_ref js_probe = nullptr;        // CanCallJs() (loop-util.h)
};

class NativeSession : public Napi::ObjectWrap<NativeSession> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeSession(const Napi::CallbackInfo &info);
  ~NativeSession() override;

  // Environment teardown: free everything without calling into JS.
  void Teardown();

  NativeSession *next_ = nullptr;
  NativeSession *prev_ = nullptr;

 private:
  struct Op;

  Napi::Value Login(const Napi::CallbackInfo &info);
  Napi::Value Discover(const Napi::CallbackInfo &info);
  Napi::Value Scsi(const Napi::CallbackInfo &info);
  Napi::Value Io(const Napi::CallbackInfo &info);
  Napi::Value AbortTask(const Napi::CallbackInfo &info);
  Napi::Value LastTaskId(const Napi::CallbackInfo &info);
  Napi::Value Logout(const Napi::CallbackInfo &info);
  void Abort(const Napi::CallbackInfo &info);
  void Close(const Napi::CallbackInfo &info);
  Napi::Value Negotiated(const Napi::CallbackInfo &info);
  Napi::Value PendingCount(const Napi::CallbackInfo &info);

  // Start one core operation (see session.cc); returns the promise.
  template <typename Start>
  Napi::Value Submit(Napi::Env env, int kind, Start start);
  Napi::Error MakeError(Napi::Env env, int status);
  static void OnComplete(isc_ctx *ctx, int status, void *result, void *priv);
  static void OnLog(int level, const char *msg, void *user);
  static void OnEvent(isc_ctx *ctx, int event, int code, uint32_t attempt, void *user);
  static void OnAsync(isc_ctx *ctx, const isc_async_event *ev, void *user);

  void Service(int revents);
  void Rearm();
  void CloseHandles();
  void FreeContext();
  void Unlink();

  static void OnPoll(uv_poll_t *handle, int status, int events);
  static void OnTimer(uv_timer_t *handle);

  Napi::Env env_;
  AddonData *data_;
  isc_ctx *ctx_ = nullptr;
  uv_loop_t *loop_ = nullptr;
  uv_poll_t *poll_ = nullptr;
  uv_timer_t *timer_ = nullptr;
  // Pushes PDUs queued by this turn's submissions (config defer_send) in
  // one write, after the JS that queued them has run.
  uv_check_t *check_ = nullptr;
  void ScheduleFlush();
  static void OnCheck(uv_check_t *handle);
  // Busy polling (config busyPollUs, 0 = off): while commands are in
  // flight, an active uv_idle handle makes libuv poll the socket with a
  // zero timeout instead of sleeping, for up to busy_poll_us_ after the
  // last submission. Trades CPU for round-trip latency: the
  // answer is seen without the process being woken up (like the kernel's
  // SO_BUSY_POLL). The loop keeps turning: timers, I/O and JS all run.
  uint32_t busy_poll_us_ = 0;
  uint64_t spin_until_ns_ = 0;
  // Adaptive: a spin that ends without an answer (the target is slower
  // than the window) makes the next spin_skip_ waits sleep at once, with
  // the skip doubling up to 256 while spins keep missing, so a slow target
  // (e.g. large transfers) costs no CPU; an answer caught by a spin resets it.
  uint32_t spin_skip_ = 0;
  uint32_t spin_backoff_ = 1;
  uv_idle_t *idle_ = nullptr;
  // Runs isc_prepare_wait() right before the loop blocks (config
  // rx_coalesce): the socket's wakeup level is set from the commands in
  // flight once per turn, after every submission of that turn.
  uv_prepare_t *prepare_ = nullptr;
  static void OnPrepare(uv_prepare_t *handle);
  void RearmTimer(bool pending);
  void ExtendSpin();
  void OpenSpinWindow() { spin_until_ns_ = uv_hrtime() + static_cast<uint64_t>(busy_poll_us_) * 1000u; }
  bool rx_coalesce_ = false;  // prepare_ is only needed when coalescing
  static void OnIdle(uv_idle_t *handle);
  int poll_fd_ = -1;
  uint32_t poll_gen_ = 0;
  int poll_events_ = 0;
  bool referenced_ = false;  // ObjectWrap Ref() held while ops are pending
  int in_core_ = 0;          // depth of calls into the core
  bool close_requested_ = false;
  bool tearing_down_ = false;
  Napi::FunctionReference log_fn_;
  Napi::FunctionReference event_fn_;
  uint32_t last_task_id_ = 0;
  Napi::AsyncContext *async_ctx_ = nullptr;
};

}  // namespace iscsi_addon
