//! A tiny check that `tch` links against the libtorch that `cargo xtask ci`
//! installs from PyPI, and that it computes on the CPU.
//!
//! Later crates that need libtorch (inference-tch, the journal's `ai`
//! feature) are built by the same xtask step; this crate proves the step
//! works before any of them exists.

/// Multiplies a 2x3 by a 3x2 matrix with libtorch on the CPU and returns the
/// 2x2 result in row-major order.
///
/// # Errors
/// Returns libtorch's error message if a tensor operation fails.
pub fn cpu_matmul_2x3_3x2() -> Result<Vec<f32>, String> {
    let a = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).view([2, 3]);
    let b = tch::Tensor::from_slice(&[7.0f32, 8.0, 9.0, 10.0, 11.0, 12.0]).view([3, 2]);
    let c = a.f_matmul(&b).map_err(|e| e.to_string())?;
    Vec::<f32>::try_from(c.flatten(0, -1)).map_err(|e| e.to_string())
}

/// Whether a freshly created tensor lives on the CPU (it must: CI machines
/// have no GPU, and nothing here asks for one).
pub fn device_is_cpu() -> bool {
    tch::Tensor::zeros([1], (tch::Kind::Float, tch::Device::Cpu)).device() == tch::Device::Cpu
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn matmul_on_cpu_matches_hand_computed_result() {
        let c = cpu_matmul_2x3_3x2().unwrap_or_else(|e| panic!("libtorch failed: {e}"));
        assert_eq!(c, vec![58.0, 64.0, 139.0, 154.0]);
        assert!(device_is_cpu());
    }
}
