// NativeSession implementation. See session.h for the threading model.
#include "session.h"

#include <poll.h>

#include <cstring>
#include <vector>

#include "config.h"
#include "loop-util.h"

namespace iscsi_addon {

namespace {

enum OpKind { kLogin, kDiscover, kScsi, kLogout, kIo };

Napi::Object DiscoveryToJs(Napi::Env env, const isc_discovery *d) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array targets = Napi::Array::New(env, d->target_count);
  for (size_t i = 0; i < d->target_count; i++) {
    const isc_target_entry &t = d->targets[i];
    Napi::Object jt = Napi::Object::New(env);
    jt.Set("name", Napi::String::New(env, t.name));
    Napi::Array portals = Napi::Array::New(env, t.portal_count);
    for (size_t j = 0; j < t.portal_count; j++) {
      const isc_portal &p = t.portals[j];
      Napi::Object jp = Napi::Object::New(env);
      jp.Set("address", Napi::String::New(env, p.address));
      jp.Set("port", Napi::Number::New(env, p.port));
      jp.Set("tpgt", Napi::Number::New(env, p.tpgt));
      jp.Set("hasTpgt", Napi::Boolean::New(env, p.has_tpgt != 0));
      jp.Set("defaulted", Napi::Boolean::New(env, p.defaulted != 0));
      portals.Set(static_cast<uint32_t>(j), jp);
    }
    jt.Set("portals", portals);
    targets.Set(static_cast<uint32_t>(i), jt);
  }
  out.Set("targets", targets);
  out.Set("rejected", Napi::Number::New(env, static_cast<double>(d->rejected_count)));
  return out;
}

// Hands the core's data buffer to JS without copying; freed by the GC.
Napi::Object ScsiResultToJs(Napi::Env env, isc_scsi_result *r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("status", Napi::Number::New(env, r->status));
  out.Set("response", Napi::Number::New(env, r->response));
  out.Set("sense", Napi::Buffer<uint8_t>::Copy(env, r->sense, r->sense_len));
  out.Set("dataLength", Napi::Number::New(env, static_cast<double>(r->data_len)));
  if (r->data_borrowed) {
    // The data is already in the caller's buffer.
    out.Set("data", Napi::Buffer<uint8_t>::New(env, 0));
  } else if (r->data && r->data_len) {
    uint8_t *data = r->data;
    r->data = nullptr;
    out.Set("data", Napi::Buffer<uint8_t>::New(env, data, r->data_len,
                                               [](Napi::Env, uint8_t *p) { free(p); }));
  } else {
    out.Set("data", Napi::Buffer<uint8_t>::New(env, 0));
  }
  out.Set("residual", Napi::Number::New(env, r->residual));
  out.Set("overflow", Napi::Boolean::New(env, r->overflow != 0));
  out.Set("underflow", Napi::Boolean::New(env, r->underflow != 0));
  isc_scsi_result_free(r);
  return out;
}

const char *ChapName(int alg) {
  switch (alg) {
    case 5: return "MD5";
    case 6: return "SHA1";
    case 7: return "SHA256";
    case 8: return "SHA3-256";
    default: return nullptr;
  }
}

}  // namespace

struct NativeSession::Op {
  NativeSession *self;
  Napi::Promise::Deferred deferred;
  int kind;
  // kIo: the caller's buffers, kept alive until the core lets go of them.
  Napi::ObjectReference out_ref, in_ref;
  Op(NativeSession *s, Napi::Env env, int k) : self(s), deferred(Napi::Promise::Deferred::New(env)), kind(k) {}
};

Napi::Function NativeSession::Init(Napi::Env env) {
  return DefineClass(env, "NativeSession",
                     {
                         InstanceMethod<&NativeSession::Login>("login"),
                         InstanceMethod<&NativeSession::Discover>("discover"),
                         InstanceMethod<&NativeSession::Scsi>("scsi"),
                         InstanceMethod<&NativeSession::Io>("io"),
                         InstanceMethod<&NativeSession::AbortTask>("abortTask"),
                         InstanceMethod<&NativeSession::LastTaskId>("lastTaskId"),
                         InstanceMethod<&NativeSession::Logout>("logout"),
                         InstanceMethod<&NativeSession::Abort>("abort"),
                         InstanceMethod<&NativeSession::Close>("close"),
                         InstanceMethod<&NativeSession::Negotiated>("negotiated"),
                         InstanceMethod<&NativeSession::PendingCount>("pendingCount"),
                     });
}

NativeSession::NativeSession(const Napi::CallbackInfo &info)
    : Napi::ObjectWrap<NativeSession>(info), env_(info.Env()), data_(env_.GetInstanceData<AddonData>()) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "NativeSession needs a config object").ThrowAsJavaScriptException();
    return;
  }
  ConfigHolder holder;
  std::string error;
  if (!ParseConfig(info[0].As<Napi::Object>(), &holder, &error)) {
    Napi::Error e = Napi::TypeError::New(env, error);
    e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_VALUE"));
    e.ThrowAsJavaScriptException();
    return;
  }
  if (holder.log.IsFunction()) {
    log_fn_ = Napi::Persistent(holder.log.As<Napi::Function>());
    holder.cfg.log_fn = &NativeSession::OnLog;
    holder.cfg.log_user = this;
  }
  if (holder.event.IsFunction()) {
    event_fn_ = Napi::Persistent(holder.event.As<Napi::Function>());
    holder.cfg.event_fn = &NativeSession::OnEvent;
    holder.cfg.event_user = this;
    holder.cfg.async_fn = &NativeSession::OnAsync;
    holder.cfg.async_user = this;
  }
  holder.cfg.defer_send = 1;  // see ScheduleFlush()
  busy_poll_us_ = holder.busy_poll_us;
  holder.cfg.rx_coalesce = holder.rx_coalesce;
  rx_coalesce_ = holder.rx_coalesce != 0;
  int rc = isc_ctx_new(&holder.cfg, &ctx_);
  holder.Wipe();  // secret copies owned by the core from here on
  if (rc != ISC_OK) {
    Napi::Error e = Napi::Error::New(env, std::string("cannot create iSCSI session: ") + isc_strerror(rc));
    e.Set("code", Napi::String::New(env, isc_err_code(rc)));
    e.ThrowAsJavaScriptException();
    return;
  }
  if (napi_get_uv_event_loop(env, &loop_) != napi_ok) {
    Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
    return;
  }
  async_ctx_ = new Napi::AsyncContext(env, "iscsi-initiator:session");
  // Link into the per-environment list for the cleanup hook.
  next_ = data_->sessions;
  if (next_) next_->prev_ = this;
  data_->sessions = this;
}

NativeSession::~NativeSession() {
  // No pending operation can exist here: the object is Ref()'d while any
  // is pending. Free without touching JS.
  tearing_down_ = true;
  FreeContext();
  CloseHandles();
  Unlink();
  delete async_ctx_;
  async_ctx_ = nullptr;
}

void NativeSession::Unlink() {
  if (!data_) return;
  if (prev_) prev_->next_ = next_;
  else if (data_->sessions == this) data_->sessions = next_;
  if (next_) next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

void NativeSession::Teardown() {
  tearing_down_ = true;
  FreeContext();
  CloseHandles();
  Unlink();
  data_ = nullptr;
}

void NativeSession::FreeContext() {
  if (!ctx_) return;
  isc_ctx *ctx = ctx_;
  in_core_++;
  isc_ctx_free(ctx);  // pending callbacks run with ISC_ERR_CLOSED
  in_core_--;
  ctx_ = nullptr;
  if (referenced_ && !tearing_down_) {
    referenced_ = false;
    Unref();
  }
}

void NativeSession::CloseHandles() {
  if (poll_) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t *>(poll_), DeleteHandle);
    poll_ = nullptr;
    poll_fd_ = -1;
  }
  if (timer_) {
    uv_timer_stop(timer_);
    uv_close(reinterpret_cast<uv_handle_t *>(timer_), DeleteHandle);
    timer_ = nullptr;
  }
  if (prepare_) {
    uv_prepare_stop(prepare_);
    uv_close(reinterpret_cast<uv_handle_t *>(prepare_), DeleteHandle);
    prepare_ = nullptr;
  }
  if (idle_) {
    uv_idle_stop(idle_);
    uv_close(reinterpret_cast<uv_handle_t *>(idle_), DeleteHandle);
    idle_ = nullptr;
  }
  if (check_) {
    uv_check_stop(check_);
    uv_close(reinterpret_cast<uv_handle_t *>(check_), DeleteHandle);
    check_ = nullptr;
  }
}

// Submissions only queue PDUs (defer_send); the check phase of this loop
// turn runs after the JS that submitted them, so every command queued in
// one turn goes out in one sendmsg() (and the poll/timer are rearmed once).
void NativeSession::ScheduleFlush() {
  if (!loop_ || !ctx_) return;
  if (!check_) {
    check_ = new uv_check_t;
    uv_check_init(loop_, check_);
    check_->data = this;
  }
  if (!uv_is_active(reinterpret_cast<uv_handle_t *>(check_)))
    uv_check_start(check_, &NativeSession::OnCheck);
}

void NativeSession::OnCheck(uv_check_t *handle) {
  uv_check_stop(handle);
  auto *self = static_cast<NativeSession *>(handle->data);
  if (!self->ctx_) return;
  // The common case only writes: no callback can run, so no JS scope or
  // probe is needed (this runs once per loop turn that submitted).
  if (isc_flush(self->ctx_) == 0)
    self->Rearm();
  else
    self->Service(0);
}

// Point the poll handle at the core's current fd/events, the timer at its
// next deadline, and keep the loop (and this object) alive only while an
// operation is pending.
void NativeSession::Rearm() {
  if (!ctx_ || !loop_) {
    CloseHandles();
    return;
  }
  int fd = isc_get_fd(ctx_);
  uint32_t gen = isc_get_fd_generation(ctx_);
  if (poll_ && (fd != poll_fd_ || gen != poll_gen_)) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t *>(poll_), DeleteHandle);
    poll_ = nullptr;
    poll_fd_ = -1;
  }
  bool pending = isc_pending_count(ctx_) > 0;
  if (fd >= 0) {
    if (!poll_) {
      poll_ = new uv_poll_t;
      if (uv_poll_init_socket(loop_, poll_, fd) != 0) {
        delete poll_;
        poll_ = nullptr;
      } else {
        poll_->data = this;
        poll_fd_ = fd;
        poll_gen_ = gen;
        poll_events_ = 0;
      }
    }
    if (poll_) {
      int ev = isc_which_events(ctx_);
      int uvev = UvEventsFor(ev);
      if (uvev != poll_events_ || !uv_is_active(reinterpret_cast<uv_handle_t *>(poll_))) {
        if (uvev)
          uv_poll_start(poll_, uvev | UV_DISCONNECT, &NativeSession::OnPoll);
        else
          uv_poll_stop(poll_);
        poll_events_ = uvev;
      }
      // An idle session still answers target NOP-In pings, but must not
      // keep the process alive on its own (like an unref'd socket).
      if (pending)
        uv_ref(reinterpret_cast<uv_handle_t *>(poll_));
      else
        uv_unref(reinterpret_cast<uv_handle_t *>(poll_));
    }
  }
  RearmTimer(pending);
  if (rx_coalesce_ && fd >= 0 && isc_get_negotiated(ctx_) && !prepare_) {
    prepare_ = new uv_prepare_t;
    uv_prepare_init(loop_, prepare_);
    prepare_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t *>(prepare_));
    uv_prepare_start(prepare_, &NativeSession::OnPrepare);
  }
  if (busy_poll_us_) {
    if (pending && poll_ && spin_until_ns_ > uv_hrtime()) {
      if (!idle_) {
        idle_ = new uv_idle_t;
        uv_idle_init(loop_, idle_);
        idle_->data = this;
        // Never keeps the process alive on its own; an active idle handle
        // still makes the loop's poll timeout zero.
        uv_unref(reinterpret_cast<uv_handle_t *>(idle_));
      }
      if (!uv_is_active(reinterpret_cast<uv_handle_t *>(idle_))) uv_idle_start(idle_, &NativeSession::OnIdle);
    } else if (idle_) {
      uv_idle_stop(idle_);
    }
  }
  // Keep the JS object alive while operations are pending, so the GC
  // cannot finalize a session with promises still to settle.
  if (pending && !referenced_) {
    referenced_ = true;
    Ref();
  } else if (!pending && referenced_) {
    referenced_ = false;
    Unref();
  }
}

void NativeSession::ExtendSpin() {
  if (!busy_poll_us_) return;
  if (spin_skip_ > 0) {
    spin_skip_--;
    spin_until_ns_ = 0;
    return;
  }
  OpenSpinWindow();
}

void NativeSession::OnIdle(uv_idle_t *handle) {
  auto *self = static_cast<NativeSession *>(handle->data);
  if (!self->ctx_ || isc_pending_count(self->ctx_) == 0) {
    uv_idle_stop(handle);
  } else if (uv_hrtime() >= self->spin_until_ns_) {
    // Spun the whole window for nothing: sleep through the next waits.
    uv_idle_stop(handle);
    self->spin_skip_ = self->spin_backoff_;
    if (self->spin_backoff_ < 256) self->spin_backoff_ *= 2;
  }
}

void NativeSession::RearmTimer(bool pending) {
  int64_t t = isc_next_timeout_ms(ctx_, isc_now_ms());
  if (t >= 0) {
    if (!timer_) {
      timer_ = new uv_timer_t;
      uv_timer_init(loop_, timer_);
      timer_->data = this;
    }
    uv_timer_start(timer_, &NativeSession::OnTimer, static_cast<uint64_t>(t), 0);
    // Keepalive pings and reinstatement backoff run while the process is
    // alive for other reasons, but do not keep it alive on their own.
    if (pending)
      uv_ref(reinterpret_cast<uv_handle_t *>(timer_));
    else
      uv_unref(reinterpret_cast<uv_handle_t *>(timer_));
  } else if (timer_) {
    uv_timer_stop(timer_);
  }
}

void NativeSession::OnPrepare(uv_prepare_t *handle) {
  auto *self = static_cast<NativeSession *>(handle->data);
  // No JS runs here; the core only computes a level and may setsockopt().
  if (self->ctx_ && isc_prepare_wait(self->ctx_)) self->RearmTimer(isc_pending_count(self->ctx_) > 0);
}

void NativeSession::Service(int revents) {
  if (!ctx_) return;
  // An answer seen while spinning: polling pays off at this latency. (Only
  // a submission opens a spin window: the later segments of one large
  // answer arriving must not count as hits and keep a slow target spun on.)
  if ((revents & POLLIN) && idle_ && uv_is_active(reinterpret_cast<uv_handle_t *>(idle_))) spin_backoff_ = 1;
  Napi::HandleScope scope(env_);
  if (!data_ || !CanCallJs(env_, &data_->js_probe)) {
    // The environment is going away: close without calling into JS; the
    // cleanup hook finds nothing left to do for this session.
    Teardown();
    return;
  }
  // A CallbackScope makes promise reactions run when we return to libuv.
  Napi::CallbackScope cb_scope(env_, *async_ctx_);
  in_core_++;
  isc_service(ctx_, revents);
  in_core_--;
  // Half of an answer is in: the rest is already on its way, so polling
  // for it beats sleeping and being woken for each further segment.
  if (busy_poll_us_ && ctx_ && (revents & POLLIN) && isc_rx_partial(ctx_) > 0) OpenSpinWindow();
  if (close_requested_ && in_core_ == 0) {
    close_requested_ = false;
    FreeContext();
    CloseHandles();
    Unlink();
    return;
  }
  Rearm();
}

void NativeSession::OnPoll(uv_poll_t *handle, int status, int events) {
  static_cast<NativeSession *>(handle->data)->Service(PollReventsFor(status, events));
}

void NativeSession::OnTimer(uv_timer_t *handle) {
  static_cast<NativeSession *>(handle->data)->Service(0);
}

void NativeSession::OnLog(int level, const char *msg, void *user) {
  auto *self = static_cast<NativeSession *>(user);
  if (self->tearing_down_ || self->log_fn_.IsEmpty()) return;
  Napi::Env env = self->env_;
  Napi::HandleScope scope(env);
  // A throwing logger must not unwind through C frames: swallow it.
  self->log_fn_.Call({Napi::Number::New(env, level), Napi::String::New(env, msg)});
  if (env.IsExceptionPending()) env.GetAndClearPendingException();
}

void NativeSession::OnEvent(isc_ctx *ctx, int event, int code, uint32_t attempt, void *user) {
  auto *self = static_cast<NativeSession *>(user);
  if (self->tearing_down_ || self->event_fn_.IsEmpty()) return;
  Napi::Env env = self->env_;
  Napi::HandleScope scope(env);
  const isc_error_info *ei = isc_last_error(ctx);
  const char *kind = event == ISC_EVENT_CONNECTION_LOST ? "connection-lost"
                     : event == ISC_EVENT_RECONNECTED   ? "reconnected"
                     : event == ISC_EVENT_LOGGED_OUT    ? "logged-out"
                                                        : "session-failed";
  self->event_fn_.Call({Napi::String::New(env, kind),
                        Napi::String::New(env, code ? isc_err_code(code) : ""),
                        Napi::Number::New(env, attempt),
                        Napi::String::New(env, ei && ei->message[0] ? ei->message : "")});
  if (env.IsExceptionPending()) env.GetAndClearPendingException();
}

// An Async Message (core async.c), reported before the core acts on it:
// the same callback as OnEvent, kind "async-message", with the decoded
// message as a fifth argument (sense and data copied: the core's pointers
// live only during this call).
void NativeSession::OnAsync(isc_ctx *, const isc_async_event *ev, void *user) {
  auto *self = static_cast<NativeSession *>(user);
  if (self->tearing_down_ || self->event_fn_.IsEmpty()) return;
  Napi::Env env = self->env_;
  Napi::HandleScope scope(env);
  static const char *const kActions[] = {"report", "logout", "relogin", "reconnect", "fail"};
  Napi::Object o = Napi::Object::New(env);
  o.Set("event", Napi::Number::New(env, ev->event));
  o.Set("vcode", Napi::Number::New(env, ev->vcode));
  o.Set("lun", Napi::Number::New(env, static_cast<double>(ev->lun)));
  o.Set("parameter1", Napi::Number::New(env, ev->param1));
  o.Set("parameter2", Napi::Number::New(env, ev->param2));
  o.Set("parameter3", Napi::Number::New(env, ev->param3));
  o.Set("action", Napi::String::New(env, ev->action >= 0 && ev->action <= ISC_ASYNC_FAIL ? kActions[ev->action] : "report"));
  o.Set("delayMs", Napi::Number::New(env, ev->delay_ms));
  if (ev->sense) o.Set("sense", Napi::Buffer<uint8_t>::Copy(env, ev->sense, ev->sense_len));
  o.Set("data", ev->data ? Napi::Buffer<uint8_t>::Copy(env, ev->data, ev->data_len) : Napi::Buffer<uint8_t>::New(env, 0));
  self->event_fn_.Call({Napi::String::New(env, "async-message"), Napi::String::New(env, ""),
                        Napi::Number::New(env, 0), Napi::String::New(env, ""), o});
  if (env.IsExceptionPending()) env.GetAndClearPendingException();
}

Napi::Error NativeSession::MakeError(Napi::Env env, int status) {
  const isc_error_info *ei = ctx_ ? isc_last_error(ctx_) : nullptr;
  std::string message = (ei && ei->code == status && ei->message[0]) ? ei->message : isc_strerror(status);
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, isc_err_code(status)));
  if (ei && ei->code == status) {
    if (ei->status_class >= 0) e.Set("statusClass", Napi::Number::New(env, ei->status_class));
    if (ei->status_detail >= 0) e.Set("statusDetail", Napi::Number::New(env, ei->status_detail));
    if (ei->sys_errno) e.Set("errno", Napi::Number::New(env, ei->sys_errno));
  }
  return e;
}

void NativeSession::OnComplete(isc_ctx *, int status, void *result, void *priv) {
  Op *op = static_cast<Op *>(priv);
  NativeSession *self = op->self;
  if (self->tearing_down_) {
    // The environment is going away: nothing may call into JS.
    if (result && op->kind == kDiscover) isc_discovery_free(static_cast<isc_discovery *>(result));
    if (result && op->kind == kScsi) isc_scsi_result_free(static_cast<isc_scsi_result *>(result));
    delete op;
    return;
  }
  Napi::Env env = self->env_;
  Napi::HandleScope scope(env);
  if (status != ISC_OK) {
    op->deferred.Reject(self->MakeError(env, status).Value());
  } else if (op->kind == kDiscover) {
    auto *d = static_cast<isc_discovery *>(result);
    op->deferred.Resolve(DiscoveryToJs(env, d));
    isc_discovery_free(d);
  } else if (op->kind == kScsi) {
    op->deferred.Resolve(ScsiResultToJs(env, static_cast<isc_scsi_result *>(result)));
  } else if (op->kind == kIo) {
    auto *r = static_cast<isc_scsi_result *>(result);
    // The common case costs one number: GOOD, no sense -> bytes received.
    if (r->status == 0 && r->response == 0 && r->sense_len == 0 && !r->overflow && !r->underflow) {
      op->deferred.Resolve(Napi::Number::New(env, static_cast<double>(r->data_len)));
      isc_scsi_result_free(r);
    } else {
      op->deferred.Resolve(ScsiResultToJs(env, r));
    }
  } else {
    op->deferred.Resolve(env.Undefined());
  }
  delete op;
}

// Starts one core operation: `start` calls the isc_*_async function with
// our completion callback and the op. Returns the op's promise, already
// rejected when the core refused the call at once (it then never calls back).
template <typename Start>
Napi::Value NativeSession::Submit(Napi::Env env, int kind, Start start) {
  Op *op = new Op(this, env, kind);
  Napi::Promise promise = op->deferred.Promise();
  in_core_++;
  int rc = start(&NativeSession::OnComplete, static_cast<void *>(op));
  in_core_--;
  if (rc != ISC_OK) {
    op->deferred.Reject(MakeError(env, rc).Value());
    delete op;
  }
  Rearm();
  ScheduleFlush();
  return promise;
}

static Napi::Value ClosedPromise(Napi::Env env) {
  auto d = Napi::Promise::Deferred::New(env);
  Napi::Error e = Napi::Error::New(env, "the iSCSI session is closed");
  e.Set("code", Napi::String::New(env, isc_err_code(ISC_ERR_CLOSED)));
  d.Reject(e.Value());
  return d.Promise();
}

Napi::Value NativeSession::Login(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!ctx_) return ClosedPromise(env);
  return Submit(env, kLogin, [this](isc_cb cb, void *op) { return isc_login_async(ctx_, cb, op); });
}

Napi::Value NativeSession::Discover(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!ctx_) return ClosedPromise(env);
  return Submit(env, kDiscover, [this](isc_cb cb, void *op) { return isc_discovery_async(ctx_, cb, op); });
}

Napi::Value NativeSession::Scsi(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!ctx_) return ClosedPromise(env);
  if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber() ||
      !(info[3].IsBuffer() || info[3].IsNull() || info[3].IsUndefined()) || !info[4].IsNumber()) {
    Napi::TypeError::New(env, "scsi(lun, cdb, dir, dataOut, inLength): bad arguments")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double lun = info[0].As<Napi::Number>().DoubleValue();
  auto cdb = info[1].As<Napi::Buffer<uint8_t>>();
  int dir = info[2].As<Napi::Number>().Int32Value();
  double in_len = info[4].As<Napi::Number>().DoubleValue();
  const uint8_t *out = nullptr;
  size_t out_len = 0;
  if (info[3].IsBuffer()) {
    auto b = info[3].As<Napi::Buffer<uint8_t>>();
    out = b.Data();
    out_len = b.Length();
  }
  if (!(lun >= 0 && lun < 16384) || !(in_len >= 0 && in_len <= 0x7fffffff)) {
    Napi::RangeError::New(env, "scsi(): lun or inLength out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Submit(env, kScsi, [&](isc_cb cb, void *op) {
    return isc_scsi_async(ctx_, static_cast<uint64_t>(lun), cdb.Data(), cdb.Length(), dir, out, out_len,
                          static_cast<size_t>(in_len), cb, op);
  });
}

// io(lun, cdb, dir, dataOut|null, dataIn|null, inLength, timeoutMs): the
// block I/O path. No copies: the core sends from dataOut and receives into
// dataIn directly, and both stay referenced until the promise settles.
// Resolves with the byte count on GOOD status, else the result object.
Napi::Value NativeSession::Io(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!ctx_) return ClosedPromise(env);
  if (info.Length() < 7 || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber() ||
      !(info[3].IsBuffer() || info[3].IsNull()) || !(info[4].IsBuffer() || info[4].IsNull()) ||
      !info[5].IsNumber() || !info[6].IsNumber()) {
    Napi::TypeError::New(env, "io(lun, cdb, dir, dataOut, dataIn, inLength, timeoutMs): bad arguments")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double lun = info[0].As<Napi::Number>().DoubleValue();
  auto cdb = info[1].As<Napi::Buffer<uint8_t>>();
  double in_len = info[5].As<Napi::Number>().DoubleValue();
  double timeout = info[6].As<Napi::Number>().DoubleValue();
  if (!(lun >= 0 && lun < 16384) || !(in_len >= 0 && in_len <= 0x7fffffff) ||
      !(timeout >= 0 && timeout <= 2147483647)) {
    Napi::RangeError::New(env, "io(): lun, inLength or timeoutMs out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  isc_scsi_cmd c{};
  c.lun = static_cast<uint64_t>(lun);
  c.cdb = cdb.Data();
  c.cdb_len = cdb.Length();
  c.dir = info[2].As<Napi::Number>().Int32Value();
  c.timeout_ms = static_cast<uint32_t>(timeout);
  Op *op = new Op(this, env, kIo);
  if (info[3].IsBuffer()) {
    auto b = info[3].As<Napi::Buffer<uint8_t>>();
    c.data_out = b.Data();
    c.out_len = b.Length();
    op->out_ref = Napi::Persistent(info[3].As<Napi::Object>());
  }
  if (info[4].IsBuffer()) {
    auto b = info[4].As<Napi::Buffer<uint8_t>>();
    if (b.Length() < static_cast<size_t>(in_len)) {
      delete op;
      Napi::RangeError::New(env, "io(): dataIn is shorter than inLength").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    c.data_in = b.Data();
    op->in_ref = Napi::Persistent(info[4].As<Napi::Object>());
  }
  c.in_len = static_cast<size_t>(in_len);
  Napi::Promise promise = op->deferred.Promise();
  uint32_t id = 0;
  in_core_++;
  int rc = isc_scsi_submit(ctx_, &c, &NativeSession::OnComplete, op, &id);
  in_core_--;
  if (rc != ISC_OK) {
    op->deferred.Reject(MakeError(env, rc).Value());
    delete op;
    id = 0;
  }
  last_task_id_ = id;
  ExtendSpin();
  // Keep this object (and its buffers' owners) alive from now on; the
  // flush in the check phase rearms the poll and timer handles.
  if (!referenced_) {
    referenced_ = true;
    Ref();
  }
  ScheduleFlush();
  return promise;
}

// abortTask(id, code?): ABORT TASK for one io() command (see isc_task_abort).
Napi::Value NativeSession::AbortTask(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!ctx_ || info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(env, false);
  int code = ISC_ERR_CANCELLED;
  if (info.Length() > 1 && info[1].IsString() && info[1].As<Napi::String>().Utf8Value() == "ETIMEDOUT")
    code = ISC_ERR_TIMEDOUT;
  in_core_++;
  int rc = isc_task_abort(ctx_, info[0].As<Napi::Number>().Uint32Value(), code);
  in_core_--;
  Rearm();
  ScheduleFlush();
  return Napi::Boolean::New(env, rc == ISC_OK);
}

// The id of the last io() command (0 if it was refused): lets JS abort it
// without every call paying for a second return value.
Napi::Value NativeSession::LastTaskId(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), last_task_id_);
}

Napi::Value NativeSession::Logout(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!ctx_) return ClosedPromise(env);
  return Submit(env, kLogout, [this](isc_cb cb, void *op) { return isc_logout_async(ctx_, cb, op); });
}

void NativeSession::Abort(const Napi::CallbackInfo &info) {
  if (!ctx_) return;
  int code = ISC_ERR_CANCELLED;
  if (info.Length() > 0 && info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "ETIMEDOUT")
    code = ISC_ERR_TIMEDOUT;
  in_core_++;
  isc_ctx_abort(ctx_, code);
  in_core_--;
  Rearm();
}

void NativeSession::Close(const Napi::CallbackInfo &) {
  if (!ctx_) return;
  if (in_core_ > 0) {
    // Called from a logger while the core is on the stack: finish after.
    close_requested_ = true;
    return;
  }
  FreeContext();
  CloseHandles();
  Unlink();
}

Napi::Value NativeSession::Negotiated(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const isc_negotiated *n = ctx_ ? isc_get_negotiated(ctx_) : nullptr;
  if (!n) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("headerDigest", n->header_digest ? "CRC32C" : "None");
  o.Set("dataDigest", n->data_digest ? "CRC32C" : "None");
  o.Set("maxRecvDataSegmentLength", n->max_recv_data_segment_length);
  o.Set("maxXmitDataSegmentLength", n->max_xmit_data_segment_length);
  o.Set("maxBurstLength", n->max_burst_length);
  o.Set("firstBurstLength", n->first_burst_length);
  o.Set("defaultTime2Wait", n->default_time2wait);
  o.Set("defaultTime2Retain", n->default_time2retain);
  o.Set("maxOutstandingR2T", n->max_outstanding_r2t);
  o.Set("maxConnections", n->max_connections);
  o.Set("initialR2T", Napi::Boolean::New(env, n->initial_r2t));
  o.Set("immediateData", Napi::Boolean::New(env, n->immediate_data));
  o.Set("dataPDUInOrder", Napi::Boolean::New(env, n->data_pdu_in_order));
  o.Set("dataSequenceInOrder", Napi::Boolean::New(env, n->data_sequence_in_order));
  o.Set("errorRecoveryLevel", n->error_recovery_level);
  o.Set("authMethod", n->auth_method_chap ? "CHAP" : "None");
  o.Set("mutualChap", Napi::Boolean::New(env, n->mutual_chap));
  const char *alg = n->auth_method_chap ? ChapName(n->chap_alg) : nullptr;
  o.Set("chapAlgorithm", alg ? Napi::Value(Napi::String::New(env, alg)) : env.Null());
  o.Set("tsih", n->tsih);
  o.Set("targetPortalGroupTag", n->tpgt);
  o.Set("targetAlias", n->target_alias);
  o.Set("portal", isc_current_portal(ctx_));
  return o;
}

Napi::Value NativeSession::PendingCount(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), ctx_ ? static_cast<double>(isc_pending_count(ctx_)) : 0);
}

}  // namespace iscsi_addon
