//! One S3-compatible bucket as a blocking client: the `object_store` client, the small
//! tokio runtime its calls run on, and what a failed request means for the user (fix the
//! set-up, or retry). Used by the shard store and by input images on object storage.

use crate::error::PipelineError;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, RetryConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct S3Bucket {
    pub store: Arc<dyn ObjectStore>,
    // Calls block on this runtime from any thread (rayon workers included); two worker
    // threads drive the connections.
    pub rt: tokio::runtime::Runtime,
}

/// The variables a user sets, named in every set-up error.
pub const AWS_VARIABLES: &str = "set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (and AWS_ENDPOINT_URL with AWS_ALLOW_HTTP=true for a server other than AWS)";

impl S3Bucket {
    /// A client for `bucket`; `context` names what asked (a config key, an image) in errors.
    pub fn open(bucket: &str, context: &str) -> Result<Self, PipelineError> {
        // Endpoint, region and credentials from the usual AWS_* variables. A few quick
        // retries inside a request; beyond that the task fails as retryable (exit 75) and
        // the batch engine's own retry takes over.
        let retry = RetryConfig {
            max_retries: 4,
            retry_timeout: std::time::Duration::from_secs(60),
            ..Default::default()
        };
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry)
            .build()
            .map_err(|e| PipelineError::Input(format!("{context}: {e}; {AWS_VARIABLES}")))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mw-s3")
            .enable_all()
            .build()
            .map_err(|e| PipelineError::Internal(format!("object storage runtime: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            rt,
        })
    }

    /// The process's client for `bucket`, made on first use.
    pub fn shared(bucket: &str, context: &str) -> Result<Arc<Self>, PipelineError> {
        static BUCKETS: Mutex<Option<HashMap<String, Arc<S3Bucket>>>> = Mutex::new(None);
        let mut m = BUCKETS.lock().unwrap_or_else(|p| p.into_inner());
        let m = m.get_or_insert_with(HashMap::new);
        if let Some(b) = m.get(bucket) {
            return Ok(b.clone());
        }
        let b = Arc::new(Self::open(bucket, context)?);
        m.insert(bucket.to_string(), b.clone());
        Ok(b)
    }
}

/// A failed request on `at` (a URL): missing credentials or rights will fail again (exit
/// 65 on an engine); a missing bucket too; anything else (network, throttling, 5xx) may
/// pass on a retry (75).
pub fn error(at: &str, what: &str, e: object_store::Error) -> PipelineError {
    match e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => PipelineError::Input(format!(
            "{at}: cannot {what} ({e}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's policy"
        )),
        // A missing bucket (callers turn a missing object into their own answer first).
        object_store::Error::NotFound { .. } => PipelineError::Input(format!(
            "{at}: cannot {what} ({e}); does the bucket exist?"
        )),
        _ => PipelineError::Incomplete(format!("{at}: cannot {what} ({e}); retry")),
    }
}

pub fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}
