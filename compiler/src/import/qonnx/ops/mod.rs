//! One ONNX node at a time: what each supported operation becomes. The match in
//! [`Importer::node`] is the list of supported operations; each family of them lives in its own
//! file, and what several families share in `common` (node checks) and `params` (constants as
//! per-element or per-channel parameters).

mod common;
mod constant;
mod elementwise;
mod matrix;
mod params;
mod pool;
mod quant;
mod residual;
mod shape;

use super::Importer;
use crate::error::Result;
use crate::import::onnx::NodeProto;
use common::unsupported;

/// Domains of QONNX's and FINN's custom operations.
const CUSTOM_DOMAINS: &[&str] = &[
    "qonnx.custom_op.general",
    "finn.custom_op.general",
    "finn",
    "qonnx",
];

impl Importer {
    /// Translates one node.
    pub(super) fn node(&mut self, node: &NodeProto) -> Result<()> {
        let standard = matches!(node.domain(), "" | "ai.onnx");
        let custom = CUSTOM_DOMAINS.contains(&node.domain());
        match (node.op_type(), standard, custom) {
            ("Identity", true, _) => self.alias(node),
            ("Dropout", true, _) => self.dropout(node),
            ("Relu" | "PRelu", true, _) => self.rectify(node),
            ("Constant", true, _) => self.constant_node(node),
            ("Shape", true, _) => self.shape_of(node),
            ("Gather", true, _) => self.gather(node),
            ("Unsqueeze" | "Squeeze", true, _) => self.squeeze(node),
            ("Concat", true, _) => self.concat(node),
            ("Cast", true, _) => self.cast(node),
            ("Sqrt" | "Log" | "Ceil" | "Floor", true, _) => self.unary(node),
            ("Pow", true, _) => self.const_binary(node),
            ("Mul" | "Add" | "Sub" | "Div", true, _) => self.arith(node),
            ("MatMul", true, _) => self.matmul(node),
            ("Gemm", true, _) => self.gemm(node),
            ("Conv", true, _) => self.conv(node),
            ("BatchNormalization", true, _) => self.batchnorm(node),
            ("MaxPool", true, _) => self.maxpool(node),
            ("AveragePool", true, _) => self.average_pool(node),
            ("GlobalAveragePool" | "ReduceMean", true, _) => self.global_average(node),
            ("Reshape" | "Flatten", true, _) => self.reshape(node),
            ("Transpose", true, _) => self.transpose(node),
            ("BipolarQuant", _, true) => self.bipolar_quant(node),
            ("Quant", _, true) => self.quant(node),
            ("Trunc", _, true) => self.trunc(node),
            ("MultiThreshold", _, true) => self.multithreshold(node),
            ("XnorPopcountMatMul", _, true) => self.xnor_popcount(node),
            _ => Err(unsupported(
                node,
                "xnorc imports binary networks from QONNX (docs/semantics.md, \"Imported \
                 models\", lists the operations)",
            )),
        }
    }
}
