//! Modbus TCP driver over `tokio-modbus`. Read-only by construction: `Function` has only the
//! read codes, and only the `Reader` side of the client is ever called.

use std::net::SocketAddr;
use std::time::Duration;

use kilowatch_core::address::Framing;
use kilowatch_core::profile::RegisterTable;
use tokio_modbus::client::{Context, Reader};
use tokio_modbus::{ExceptionCode, Slave};

use crate::decode::Readings;
use crate::plan::ModbusPlan;
use crate::{DriverError, Malformed, ModbusException};

/// The read function codes; there is deliberately no write code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    ReadHoldingRegisters = 3,
    ReadInputRegisters = 4,
}

impl From<RegisterTable> for Function {
    fn from(t: RegisterTable) -> Function {
        match t {
            RegisterTable::Holding => Function::ReadHoldingRegisters,
            RegisterTable::Input => Function::ReadInputRegisters,
        }
    }
}

pub struct ModbusDriver {
    target: String,
    unit: u8,
    framing: Framing,
    timeout: Duration,
    /// Dropped after any timeout or transport error: tokio-modbus stays off by one
    /// transaction after a late reply (CRATES.md §2), so a fresh connection is the only fix.
    ctx: Option<Context>,
}

impl std::fmt::Debug for ModbusDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModbusDriver")
            .field("target", &self.target)
            .field("unit", &self.unit)
            .field("connected", &self.ctx.is_some())
            .finish_non_exhaustive()
    }
}

impl ModbusDriver {
    pub fn new(target: String, unit: u8, framing: Framing, timeout: Duration) -> ModbusDriver {
        ModbusDriver {
            target,
            unit,
            framing,
            timeout,
            ctx: None,
        }
    }

    pub async fn read(&mut self, plan: &ModbusPlan) -> Result<Readings, DriverError> {
        let mut blocks = Vec::with_capacity(plan.blocks.len());
        let mut first_refusal = None;
        let mut exceptions = 0;
        for b in &plan.blocks {
            let function = Function::from(b.table);
            match self.read_block(function, b.start, b.count).await? {
                Ok(words) if words.len() == usize::from(b.count) => blocks.push(Ok(words)),
                Ok(words) => {
                    return Err(Malformed::RegisterCount {
                        start: b.start,
                        count: b.count,
                        got: words.len(),
                    }
                    .into());
                }
                Err(code) => {
                    exceptions += 1;
                    let exception = ModbusException {
                        function: function as u8,
                        code: u8::from(code),
                    };
                    first_refusal.get_or_insert(DriverError::ModbusException {
                        exception,
                        start: b.start,
                        count: b.count,
                    });
                    blocks.push(Err(exception));
                }
            }
        }
        if exceptions == plan.blocks.len()
            && let Some(refusal) = first_refusal
        {
            // Every block refused: report the device fault rather than an empty poll.
            return Err(refusal);
        }
        Ok(Readings::Modbus { blocks })
    }

    async fn read_block(
        &mut self,
        f: Function,
        start: u16,
        count: u16,
    ) -> Result<Result<Vec<u16>, ExceptionCode>, DriverError> {
        let timeout = self.timeout;
        if self.ctx.is_none() {
            let addr: SocketAddr = tokio::net::lookup_host(self.target.as_str())
                .await
                .map_err(DriverError::Transport)?
                .next()
                .ok_or_else(|| Malformed::Unresolvable {
                    target: self.target.clone(),
                })?;
            let (unit, framing) = (Slave(self.unit), self.framing);
            let connect = async move {
                match framing {
                    Framing::Mbap => tokio_modbus::client::tcp::connect_slave(addr, unit).await,
                    // A serial gateway in transparent mode: RTU frames (with CRC) over TCP.
                    Framing::Rtu => tokio::net::TcpStream::connect(addr)
                        .await
                        .map(|stream| tokio_modbus::client::rtu::attach_slave(stream, unit)),
                }
            };
            let ctx = tokio::time::timeout(timeout, connect)
                .await
                .map_err(|_| DriverError::Timeout(timeout))?
                .map_err(DriverError::Transport)?;
            self.ctx = Some(ctx);
        }
        let ctx = self.ctx.as_mut().ok_or(Malformed::NoConnection)?;
        let call = async {
            match f {
                Function::ReadHoldingRegisters => ctx.read_holding_registers(start, count).await,
                Function::ReadInputRegisters => ctx.read_input_registers(start, count).await,
            }
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(inner)) => Ok(inner),
            Ok(Err(e)) => {
                self.ctx = None;
                Err(Malformed::Modbus(e).into())
            }
            Err(_) => {
                self.ctx = None;
                Err(DriverError::Timeout(timeout))
            }
        }
    }
}
