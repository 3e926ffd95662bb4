//! The simulator's Modbus TCP server (tokio-modbus): answers reads of function 03 and 04 from a
//! register image rebuilt per request. Writes and everything else get "illegal function".

use crate::Pace;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_util::sync::CancellationToken;

/// Registers by address, for each table.
#[derive(Debug, Default, Clone)]
pub struct Registers {
    pub holding: HashMap<u16, u16>,
    pub input: HashMap<u16, u16>,
}

impl Registers {
    pub fn put_f32(table: &mut HashMap<u16, u16>, addr: u16, v: f32) {
        let b = v.to_bits();
        table.insert(addr, (b >> 16) as u16);
        table.insert(addr + 1, b as u16);
    }

    pub fn put_u32(table: &mut HashMap<u16, u16>, addr: u16, v: u32) {
        table.insert(addr, (v >> 16) as u16);
        table.insert(addr + 1, v as u16);
    }
}

type Image = Arc<dyn Fn() -> Registers + Send + Sync>;

#[derive(Clone)]
struct Device {
    unit: u8,
    image: Image,
    pace: Pace,
}

impl Service for Device {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let delay = self.pace.sample();
        let result = if delay.is_none() {
            // A failed meter behind a gateway: the gateway answers for it.
            Err(ExceptionCode::GatewayTargetDevice)
        } else if req.slave != self.unit {
            // As a gateway would: the addressed unit is not behind it.
            Err(ExceptionCode::GatewayTargetDevice)
        } else {
            let regs = (self.image)();
            match req.request {
                Request::ReadHoldingRegisters(a, n) => {
                    read(&regs.holding, a, n).map(|w| Some(Response::ReadHoldingRegisters(w)))
                }
                Request::ReadInputRegisters(a, n) => {
                    read(&regs.input, a, n).map(|w| Some(Response::ReadInputRegisters(w)))
                }
                _ => Err(ExceptionCode::IllegalFunction),
            }
        };
        let delay = delay.unwrap_or_default();
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            result
        })
    }
}

fn read(table: &HashMap<u16, u16>, start: u16, count: u16) -> Result<Vec<u16>, ExceptionCode> {
    if count == 0 || count > 125 {
        return Err(ExceptionCode::IllegalDataValue);
    }
    (0..count)
        .map(|i| {
            start
                .checked_add(i)
                .and_then(|a| table.get(&a).copied())
                .ok_or(ExceptionCode::IllegalDataAddress)
        })
        .collect()
}

/// Serves one device (one unit id) on `listener` until `cancel` fires.
pub async fn serve(
    listener: TcpListener,
    unit: u8,
    image: impl Fn() -> Registers + Send + Sync + 'static,
    pace: impl Into<Pace>,
    cancel: CancellationToken,
) {
    let device = Device {
        unit,
        image: Arc::new(image),
        pace: pace.into(),
    };
    let server = tokio_modbus::server::tcp::Server::new(listener);
    let on_connected = |stream, _addr| {
        let device = device.clone();
        async move { Ok(Some((device, stream))) }
    };
    let on_error = |e| tracing::debug!(error = %e, "sim modbus connection ended");
    let _ = server
        .serve_until(
            &on_connected,
            on_error,
            async move { cancel.cancelled().await },
        )
        .await;
}
