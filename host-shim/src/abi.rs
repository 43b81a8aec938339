//! Numeric constants of the proxy-wasm ABI 0.2.1, exactly as the Rust SDK 0.2.5 encodes them
//! (`proxy-wasm-0.2.5/src/types.rs`). The shim has no dependency on the SDK, so it keeps its own
//! copies; every enum here is `#[repr(u32)]` with the SDK's discriminants.

/// Result code of a host call (the SDK's `Status`).
///
/// The ABI also defines `Unimplemented` (12) and `BrokenConnection` (11), but SDK 0.2.5's
/// `Status` enum has no such variants: returning them from a host call would hand the SDK an
/// invalid enum value (undefined behaviour in its `match`). Unsupported calls therefore return
/// the nearest status the SDK turns into an `Err`; see `hostcalls::unsupported`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// The call succeeded.
    Ok = 0,
    /// The key, property, buffer or token does not exist.
    NotFound = 1,
    /// An argument is invalid, or the object is not available in the current callback.
    BadArgument = 2,
    /// A value could not be serialized.
    SerializationFailure = 3,
    /// A value could not be parsed.
    ParseFailure = 4,
    /// A queue is empty.
    Empty = 7,
    /// A shared-data write carried a CAS value that no longer matches the stored one.
    CasMismatch = 8,
    /// The host failed internally.
    InternalFailure = 10,
}

/// `WasmResult::BrokenConnection`: the code `proxy_get_status` reports after an HTTP call was
/// reset, as Envoy does in `onHttpCallFailure`.
pub(crate) const BROKEN_CONNECTION: u32 = 11;

/// Log level of `proxy_log` / `proxy_get_log_level` (the SDK's `LogLevel`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Most verbose.
    Trace = 0,
    /// Debugging detail.
    Debug = 1,
    /// Normal operation.
    Info = 2,
    /// Something is off but the request goes on.
    Warn = 3,
    /// A request or background task failed.
    Error = 4,
    /// The SDK logs panics at this level before the VM dies.
    Critical = 5,
}

impl LogLevel {
    /// Decodes an ABI value; `None` for values the SDK never sends.
    pub(crate) fn from_u32(value: u32) -> Option<LogLevel> {
        Some(match value {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }
}

/// What a header/body callback returned (the SDK's `Action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Let the request or response go on to the next filter.
    Continue,
    /// Stop iteration (headers) or stop and buffer (bodies) until the filter resumes the stream.
    Pause,
    /// A value SDK 0.2.5 never returns; kept so a surprise is visible instead of hidden.
    Unknown(u32),
}

impl From<u32> for Action {
    fn from(value: u32) -> Action {
        match value {
            0 => Action::Continue,
            1 => Action::Pause,
            other => Action::Unknown(other),
        }
    }
}

/// Header map selector of the `proxy_*_header_map_*` calls (the SDK's `MapType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapType {
    HttpRequestHeaders,
    HttpRequestTrailers,
    HttpResponseHeaders,
    HttpResponseTrailers,
    GrpcReceiveInitialMetadata,
    GrpcReceiveTrailingMetadata,
    HttpCallResponseHeaders,
    HttpCallResponseTrailers,
}

impl MapType {
    /// Decodes an ABI value; `None` is answered with `BadArgument`, as Envoy does.
    pub(crate) fn from_u32(value: u32) -> Option<MapType> {
        Some(match value {
            0 => MapType::HttpRequestHeaders,
            1 => MapType::HttpRequestTrailers,
            2 => MapType::HttpResponseHeaders,
            3 => MapType::HttpResponseTrailers,
            4 => MapType::GrpcReceiveInitialMetadata,
            5 => MapType::GrpcReceiveTrailingMetadata,
            6 => MapType::HttpCallResponseHeaders,
            7 => MapType::HttpCallResponseTrailers,
            _ => return None,
        })
    }
}

/// Buffer selector of `proxy_get_buffer_bytes` / `proxy_set_buffer_bytes` (the SDK's
/// `BufferType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BufferType {
    HttpRequestBody,
    HttpResponseBody,
    DownstreamData,
    UpstreamData,
    HttpCallResponseBody,
    GrpcReceiveBuffer,
    VmConfiguration,
    PluginConfiguration,
    CallData,
}

impl BufferType {
    /// Decodes an ABI value; `None` is answered with `BadArgument`, as Envoy does.
    pub(crate) fn from_u32(value: u32) -> Option<BufferType> {
        Some(match value {
            0 => BufferType::HttpRequestBody,
            1 => BufferType::HttpResponseBody,
            2 => BufferType::DownstreamData,
            3 => BufferType::UpstreamData,
            4 => BufferType::HttpCallResponseBody,
            5 => BufferType::GrpcReceiveBuffer,
            6 => BufferType::VmConfiguration,
            7 => BufferType::PluginConfiguration,
            8 => BufferType::CallData,
            _ => return None,
        })
    }
}

/// Stream selector of `proxy_continue_stream` / `proxy_close_stream` (the SDK's `StreamType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamType {
    HttpRequest,
    HttpResponse,
    Downstream,
    Upstream,
}

impl StreamType {
    /// Decodes an ABI value; `None` is answered with `BadArgument`, as Envoy does.
    pub(crate) fn from_u32(value: u32) -> Option<StreamType> {
        Some(match value {
            0 => StreamType::HttpRequest,
            1 => StreamType::HttpResponse,
            2 => StreamType::Downstream,
            3 => StreamType::Upstream,
            _ => return None,
        })
    }
}

/// Kind of a metric defined with `proxy_define_metric` (the SDK's `MetricType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Monotonic counter: only positive increments.
    Counter,
    /// Gauge: set, or moved up and down.
    Gauge,
    /// Histogram: every recorded sample is kept.
    Histogram,
}

impl MetricKind {
    /// Decodes an ABI value; `None` is answered with `BadArgument`, as Envoy does.
    pub(crate) fn from_u32(value: u32) -> Option<MetricKind> {
        Some(match value {
            0 => MetricKind::Counter,
            1 => MetricKind::Gauge,
            2 => MetricKind::Histogram,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_decodes_sdk_values() {
        let cases = [
            (0, Action::Continue),
            (1, Action::Pause),
            (7, Action::Unknown(7)),
        ];
        for (raw, want) in cases {
            assert_eq!(Action::from(raw), want, "raw {raw}");
        }
    }

    #[test]
    fn decoders_reject_out_of_range_values() {
        assert_eq!(LogLevel::from_u32(5), Some(LogLevel::Critical));
        assert_eq!(LogLevel::from_u32(6), None);
        assert_eq!(
            MapType::from_u32(7),
            Some(MapType::HttpCallResponseTrailers)
        );
        assert_eq!(MapType::from_u32(8), None);
        assert_eq!(BufferType::from_u32(8), Some(BufferType::CallData));
        assert_eq!(BufferType::from_u32(9), None);
        assert_eq!(StreamType::from_u32(3), Some(StreamType::Upstream));
        assert_eq!(StreamType::from_u32(4), None);
        assert_eq!(MetricKind::from_u32(2), Some(MetricKind::Histogram));
        assert_eq!(MetricKind::from_u32(3), None);
    }
}
