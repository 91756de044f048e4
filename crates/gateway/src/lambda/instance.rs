//! One execution environment: a function process plus its Runtime API, and the driver that runs one
//! invocation on it from dispatch to the last byte.
//!
//! The driver is the only place that knows both sides of an invocation, so it owns the rules that
//! need both: the function's `Timeout` (kill the process, the client sees a 504 or a broken stream),
//! crash detection, draining a stream after the client has disconnected, and the `START` / `END` /
//! `REPORT` log lines. It returns whether the instance can take another invocation.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::invocation::{
    Deadline, Failure, FunctionError, Invocation, InvokeRequest, Outcome, RuntimeReply,
    StreamEvent, StreamFrame,
};
use super::logs::{LogSink, PeakMemory, Report};
use super::process::{FunctionProcess, Launch};
use super::runtime_api::{InitSignal, RuntimeApi};
use crate::config::FunctionSpec;

/// Lambda's limit for the init phase of an on-demand function.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Stream events buffered towards the client.
const CLIENT_EVENTS: usize = 16;

/// What every instance of the gateway shares.
#[derive(Debug, Clone)]
pub struct InstanceContext {
    /// `AWS_REGION`.
    pub region: String,
    /// Working directory of the function processes.
    pub working_dir: std::path::PathBuf,
    /// Where function output goes.
    pub logs: Arc<dyn LogSink>,
}

/// Whether an instance can be used again after an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterInvocation {
    /// Keep it warm.
    Reuse,
    /// It was killed or is broken; start a new one next time.
    Discard,
}

/// A started function instance, ready for invocations.
#[derive(Debug)]
pub struct Instance {
    label: String,
    spec: Arc<FunctionSpec>,
    api: RuntimeApi,
    process: FunctionProcess,
    /// Time from spawn to the first `/next`; reported once, with the first invocation.
    init_duration: Mutex<Option<Duration>>,
    /// Peak memory, read once after init and after each invocation; the last value read stands
    /// for reports after the process is gone.
    peak_memory: PeakMemory,
    logs: Arc<dyn LogSink>,
}

impl Instance {
    /// Spawns the function and waits for its init phase: success is the runtime's first `/next`.
    pub async fn start(
        spec: Arc<FunctionSpec>,
        label: String,
        context: &InstanceContext,
    ) -> Result<Self, Failure> {
        let started = Instant::now();
        let (api, init) = RuntimeApi::start(spec.arn.clone())
            .await
            .map_err(|e| Failure::InitFailed(format!("cannot open a Runtime API port: {e}")))?;
        let log_stream = format!(
            "{}/[$LATEST]{}",
            time::OffsetDateTime::now_utc()
                .format(time::macros::format_description!("[year]/[month]/[day]"))
                .unwrap_or_default(),
            uuid::Uuid::new_v4().simple()
        );
        let process = FunctionProcess::spawn(
            &Launch {
                spec: &spec,
                runtime_api: api.address(),
                label: &label,
                region: &context.region,
                working_dir: &context.working_dir,
                log_stream: &log_stream,
            },
            context.logs.clone(),
        )
        .map_err(|e| Failure::InitFailed(e.to_string()))?;
        tracing::debug!(instance = %label, pid = process.pid(), runtime_api = %api.address(), "instance starting");

        let init_report = |error_type: &str| {
            format!(
                "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: {error_type}",
                started.elapsed().as_secs_f64() * 1000.0
            )
        };
        let failure = tokio::select! {
            biased;
            signal = init => match signal {
                Ok(InitSignal::Ready) => None,
                Ok(InitSignal::Failed(error)) => {
                    context.logs.line(&label, &init_report(&error.error_type));
                    Some(Failure::InitFailed(error.summary()))
                }
                Err(_) => Some(Failure::InitFailed("the Runtime API stopped".to_owned())),
            },
            status = process.exited() => {
                context.logs.line(&label, &init_report("Runtime.ExitError"));
                Some(Failure::InitFailed(format!("the runtime exited during init ({status})")))
            }
            () = tokio::time::sleep(INIT_TIMEOUT) => {
                context.logs.line(&label, &init_report("Runtime.InitTimeout"));
                Some(Failure::InitFailed(format!("init did not finish within {} s", INIT_TIMEOUT.as_secs())))
            }
        };
        if let Some(failure) = failure {
            process.kill_and_wait().await;
            return Err(failure);
        }
        let init_duration = started.elapsed();
        let peak_memory = PeakMemory::of(process.pid());
        peak_memory.read();
        Ok(Self {
            label,
            spec,
            api,
            process,
            init_duration: Mutex::new(Some(init_duration)),
            peak_memory,
            logs: context.logs.clone(),
        })
    }

    /// `UsersFunction#2`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The function this instance runs, as it was when the instance started.
    pub fn spec(&self) -> &Arc<FunctionSpec> {
        &self.spec
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the process is still running.
    pub fn is_alive(&self) -> bool {
        !self.process.has_exited()
    }

    /// Kills the process group and waits until it is reaped.
    pub async fn stop(&self) {
        self.process.kill_and_wait().await;
    }

    /// Runs one invocation. The outcome goes to `outcome` as soon as it is known (for a stream: as
    /// soon as the runtime starts it); this returns when the invocation is over.
    pub async fn invoke(
        &self,
        request: InvokeRequest,
        outcome: oneshot::Sender<Outcome>,
    ) -> AfterInvocation {
        let timeout = self.spec.timeout;
        let deadline = Deadline::after(timeout);
        let (reply, reply_rx) = oneshot::channel();
        let request_id = request.request_id.clone();
        self.logs.line(
            &self.label,
            &format!("START RequestId: {request_id} Version: $LATEST"),
        );
        let started = Instant::now();
        let submitted = self
            .api
            .submit(Invocation {
                request_id: request.request_id,
                event: request.event,
                deadline_epoch_ms: deadline.epoch_ms,
                trace_id: request.trace_id,
                reply,
            })
            .await;
        let end = match submitted {
            Ok(()) => self.drive(reply_rx, deadline, timeout, outcome).await,
            Err(_) => {
                let _ = outcome.send(Outcome::Failed(Failure::NoResponse(
                    "the instance stopped".to_owned(),
                )));
                End::Broken
            }
        };
        let duration = started.elapsed();
        let status = match &end {
            End::Complete => None,
            End::FunctionError => Some("error"),
            End::TimedOut => {
                self.logs.line(
                    &self.label,
                    &format!("{request_id} {}", Failure::TimedOut(timeout)),
                );
                Some("timeout")
            }
            End::Crashed | End::Broken => Some("error"),
        };
        self.logs
            .line(&self.label, &format!("END RequestId: {request_id}"));
        let report = Report {
            request_id: &request_id,
            duration,
            memory_size_mb: self.spec.memory_mb,
            max_memory_used_mb: self.peak_memory.read(),
            init_duration: self
                .init_duration
                .lock()
                .expect("init duration lock")
                .take(),
            status,
        };
        self.logs.line(&self.label, &report.to_string());
        match end {
            End::Complete | End::FunctionError => AfterInvocation::Reuse,
            End::TimedOut | End::Crashed | End::Broken => {
                self.process.kill_and_wait().await;
                AfterInvocation::Discard
            }
        }
    }

    async fn drive(
        &self,
        reply: oneshot::Receiver<RuntimeReply>,
        deadline: Deadline,
        timeout: Duration,
        outcome: oneshot::Sender<Outcome>,
    ) -> End {
        let sleep = tokio::time::sleep_until(deadline.instant.into());
        tokio::pin!(sleep);
        let reply = tokio::select! {
            biased;
            reply = reply => reply,
            status = self.process.exited() => {
                let _ = outcome.send(Outcome::Failed(Failure::Crashed(status.to_string())));
                return End::Crashed;
            }
            () = &mut sleep => {
                self.process.kill();
                let _ = outcome.send(Outcome::Failed(Failure::TimedOut(timeout)));
                return End::TimedOut;
            }
        };
        let failed = |failure: Failure| Outcome::Failed(failure);
        match reply {
            Ok(RuntimeReply::Buffered(payload)) => {
                let _ = outcome.send(Outcome::Buffered(payload));
                End::Complete
            }
            Ok(RuntimeReply::Error(error)) => {
                self.log_function_error(&error);
                let _ = outcome.send(Outcome::FunctionError(error));
                End::FunctionError
            }
            Ok(RuntimeReply::TooLarge) => {
                let _ = outcome.send(failed(Failure::ResponseTooLarge));
                End::FunctionError
            }
            Ok(RuntimeReply::Abandoned) => {
                let _ = outcome.send(failed(Failure::NoResponse(
                    "the runtime asked for the next event without answering".to_owned(),
                )));
                End::FunctionError
            }
            Ok(RuntimeReply::Streaming(frames)) => self.forward(frames, &mut sleep, outcome).await,
            Err(_) => {
                let _ = outcome.send(failed(Failure::NoResponse(
                    "the runtime's connection closed before its response was complete".to_owned(),
                )));
                End::Broken
            }
        }
    }

    /// Forwards a streamed response to the client as it arrives, and keeps reading it to its end
    /// when the client has gone.
    async fn forward(
        &self,
        mut frames: mpsc::Receiver<StreamFrame>,
        sleep: &mut std::pin::Pin<&mut tokio::time::Sleep>,
        outcome: oneshot::Sender<Outcome>,
    ) -> End {
        let (events, client) = mpsc::channel(CLIENT_EVENTS);
        let mut events = outcome
            .send(Outcome::Streaming(client))
            .is_ok()
            .then_some(events);
        let pump = async {
            loop {
                match frames.recv().await {
                    Some(StreamFrame::Data(bytes)) => {
                        if let Some(sender) = &events
                            && sender.send(StreamEvent::Data(bytes)).await.is_err()
                        {
                            tracing::debug!(instance = %self.label, "client went away; draining the stream");
                            events = None;
                        }
                    }
                    Some(StreamFrame::End) => {
                        if let Some(sender) = events.take() {
                            // Everything else has been delivered; the end marker must not hold the
                            // instance hostage to a slow reader.
                            if let Err(mpsc::error::TrySendError::Full(end)) =
                                sender.try_send(StreamEvent::End)
                            {
                                tokio::spawn(async move { sender.send(end).await });
                            }
                        }
                        return End::Complete;
                    }
                    Some(StreamFrame::Error(error)) => {
                        self.log_function_error(&error);
                        return End::FunctionError;
                    }
                    Some(StreamFrame::Truncated(reason)) => {
                        self.logs
                            .line(&self.label, &format!("response stream truncated: {reason}"));
                        return End::Broken;
                    }
                    None => return End::Broken,
                }
            }
        };
        // Leaving without `StreamEvent::End` (dropping the sender) breaks the client's stream.
        let end = tokio::select! {
            biased;
            end = pump => end,
            status = self.process.exited() => {
                self.logs.line(&self.label, &format!("runtime exited mid-stream ({status})"));
                End::Crashed
            }
            () = sleep.as_mut() => {
                self.process.kill();
                End::TimedOut
            }
        };
        if let (End::TimedOut, Some(sender)) = (&end, events) {
            // Tells the client side why the stream stops, so that a response whose head has not
            // gone out yet becomes a 504 rather than a 502.
            if let Err(mpsc::error::TrySendError::Full(timed_out)) =
                sender.try_send(StreamEvent::TimedOut)
            {
                tokio::spawn(async move { sender.send(timed_out).await });
            }
        }
        end
    }

    fn log_function_error(&self, error: &FunctionError) {
        self.logs
            .line(&self.label, &format!("function error: {}", error.summary()));
    }
}

#[derive(Debug)]
enum End {
    Complete,
    FunctionError,
    TimedOut,
    Crashed,
    Broken,
}
