#include "medssl/tensor/onednn_gemm.h"

#include "medssl/core/error.h"
#include "medssl/tensor/cpu_fast_paths.h"
#include "medssl/tensor/dnnl_config.h"

#if MEDSSL_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

namespace medssl {

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// A matrix operand of sgemm: the last two axes with unit stride along the last one; the row stride is the leading
// dimension, so views such as one head of a permuted qkv tensor need no copy.
Tensor gemm_operand(const Tensor& t) { return t.stride(-1) == 1 && t.stride(-2) >= t.size(-1) ? t : t.contiguous(); }

// Row-major C (rows x cols) = op(A) op(B) + beta C for every batch index, A and B as described by gemm_operand.
void sgemm_batched(const Tensor& a, bool ta, const Tensor& b, bool tb, Tensor& c, float beta) {
#if MEDSSL_HAVE_DNNL
  const int64_t rows = c.size(-2), cols = c.size(-1), inner = ta ? a.size(-2) : a.size(-1);
  const int64_t batch = c.numel() / std::max<int64_t>(1, rows * cols);
  const int64_t batch_dims = c.dim() - 2;
  // Offsets of batch index i in a and b (elements), from their own strides (they may be views).
  auto offset = [batch_dims, &c](const Tensor& t, int64_t i) {
    int64_t off = 0;
    for (int64_t d = batch_dims - 1; d >= 0; --d) {
      const int64_t size = c.size(d);
      off += (i % size) * t.stride(d);
      i /= size;
    }
    return off;
  };
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* pc = c.data_ptr<float>();
  const int64_t lda = a.stride(-2), ldb = b.stride(-2);
  auto one = [&](int64_t i) {
    const dnnl_status_t status = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', rows, cols, inner, 1.0f, pa + offset(a, i), lda,
                                            pb + offset(b, i), ldb, beta, pc + i * rows * cols, cols);
    check(status == dnnl_success, "oneDNN sgemm failed with status {} ({} x {} x {})", static_cast<int>(status), rows,
          cols, inner);
  };
  if (batch == 1) {
    one(0);  // one product: oneDNN parallelises it itself
  } else {
    // Several products: one per thread (inside a parallel region oneDNN runs single-threaded, which is what we want).
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) one(i);
    });
  }
#else
  (void)a, (void)ta, (void)b, (void)tb, (void)c, (void)beta;
  fail("oneDNN GEMM requested but medssl was built without libdnnl");
#endif
}

// op(a) op(b) for operands already checked by matmul(); no autograd.
Tensor gemm(const Tensor& a, bool ta, const Tensor& b, bool tb) {
  const Tensor ga = gemm_operand(a), gb = gemm_operand(b);
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end() - 2);
  shape.push_back(ta ? a.size(-1) : a.size(-2));
  shape.push_back(tb ? b.size(-2) : b.size(-1));
  Tensor c = torch::empty(shape, a.options());
  if (c.numel() == 0) return c;
  if ((ta ? a.size(-2) : a.size(-1)) == 0) return c.zero_();
  sgemm_batched(ga, ta, gb, tb, c, 0.0f);
  return c;
}

struct MatmulFunction : public torch::autograd::Function<MatmulFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& a, const Tensor& b, bool ta, bool tb) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["ta"] = ta;
    ctx->saved_data["tb"] = tb;
    return gemm(a, ta, b, tb);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &a = saved[0], &b = saved[1];
    const bool ta = ctx->saved_data["ta"].toBool(), tb = ctx->saved_data["tb"].toBool();
    const Tensor g = grads[0];
    Tensor ga, gb;
    // C = op(A) op(B):  dop(A) = dC op(B)^T,  dop(B) = op(A)^T dC; transposing back gives the operands' gradients.
    if (ctx->needs_input_grad(0)) ga = ta ? gemm(b, tb, g, true) : gemm(g, false, b, !tb);
    if (ctx->needs_input_grad(1)) gb = tb ? gemm(g, true, a, ta) : gemm(a, !ta, g, false);
    return {ga, gb, Tensor(), Tensor()};
  }
};

// y = x W^T (+ b): the shared body of the two linear Functions below (LibTorch 1.13's autograd cannot take an undefined
// tensor argument, so "no bias" is a Function of its own).
Tensor linear_forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t in = weight.size(1), out = weight.size(0);
  const Tensor x2 = x.reshape({-1, in}).contiguous();
  const Tensor w = weight.contiguous();
  ctx->save_for_backward({x2, w});
  ctx->saved_data["shape"] = x.sizes().vec();
  // The bias is the initial C (beta = 1): no separate pass to add it.
  Tensor y = bias.defined() ? bias.expand({x2.size(0), out}).contiguous() : torch::empty({x2.size(0), out}, x.options());
  if (y.numel() > 0) {
    if (in == 0) {
      if (!bias.defined()) y.zero_();
    } else {
      sgemm_batched(x2, false, w, true, y, bias.defined() ? 1.0f : 0.0f);
    }
  }
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out;
  return y.view(shape);
}

// Gradients of x, W and (with_bias) b.
tensor_list linear_backward(AutogradContext* ctx, const tensor_list& grads, bool with_bias) {
  const auto saved = ctx->get_saved_variables();
  const Tensor &x2 = saved[0], &w = saved[1];
  const Tensor g = grads[0].reshape({-1, w.size(0)}).contiguous();
  Tensor gx, gw, gb;
  if (ctx->needs_input_grad(0)) gx = gemm(g, false, w, false).view(ctx->saved_data["shape"].toIntVector());
  if (ctx->needs_input_grad(1)) gw = gemm(g, true, x2, false);
  if (with_bias && ctx->needs_input_grad(2)) gb = g.sum(0);
  return with_bias ? tensor_list{gx, gw, gb} : tensor_list{gx, gw};
}

struct LinearFunction : public torch::autograd::Function<LinearFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight, const Tensor& bias) {
    return linear_forward(ctx, x, weight, bias);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) { return linear_backward(ctx, grads, true); }
};

struct LinearNoBiasFunction : public torch::autograd::Function<LinearNoBiasFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight) {
    return linear_forward(ctx, x, weight, Tensor());
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) { return linear_backward(ctx, grads, false); }
};

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const bool fast = use_onednn_gemm(x) && use_onednn_gemm(weight) && (!bias.defined() || use_onednn_gemm(bias)) &&
                    x.dim() >= 1 && weight.dim() == 2 && x.size(-1) == weight.size(1) &&
                    (!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)));
  if (!fast) return torch::linear(x, weight, bias);
  return bias.defined() ? LinearFunction::apply(x, weight, bias) : LinearNoBiasFunction::apply(x, weight);
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  check(a.dim() >= 2 && a.dim() == b.dim(), "matmul: operands need the same number (>= 2) of dimensions, got {} and {}",
        a.dim(), b.dim());
  for (int64_t d = 0; d + 2 < a.dim(); ++d)
    check(a.size(d) == b.size(d), "matmul: batch dimension {} differs ({} vs {})", d, a.size(d), b.size(d));
  check((transpose_a ? a.size(-2) : a.size(-1)) == (transpose_b ? b.size(-1) : b.size(-2)),
        "matmul: inner sizes differ ({} vs {})", transpose_a ? a.size(-2) : a.size(-1),
        transpose_b ? b.size(-1) : b.size(-2));
  if (!(use_onednn_gemm(a) && use_onednn_gemm(b))) {
    const Tensor lhs = transpose_a ? a.transpose(-2, -1) : a;
    const Tensor rhs = transpose_b ? b.transpose(-2, -1) : b;
    return torch::matmul(lhs, rhs);
  }
  return MatmulFunction::apply(a, b, transpose_a, transpose_b);
}

}  // namespace medssl
