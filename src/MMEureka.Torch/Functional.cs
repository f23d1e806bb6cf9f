using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace MMEureka.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Stateless layers and losses (TorchSharp's <c>torch.nn.functional</c>).</summary>
        public static partial class functional
        {
            /// <summary>y = x W^T + b with W [out, in]; the leading dimensions of x fold into one GEMM.</summary>
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null)
            {
                var (x, xt, ldx, w, rows, inF, outF) = LinearOperands(input, weight, bias);
                var y = Buffers.Uninitialized(rows * outF);
                // y[rows, out] = x[rows, in] @ W^T (+ b in every row)
                var b = bias?.contiguous().detach();
                if (Packed(weight, w, xt, ldx, inF) is { } packed)
                {
                    PackedLinear.Forward(x.Storage, x.Offset, ldx, rows, inF, packed, outF, b?.Storage, b?.Offset ?? 0, y, 0);
                    return Autograd.Record(new Tensor(y, LinearSizes(input, outF)), "LinearBackward", [], _ => []);
                }
                Gemm.SgemmEpilogue(xt, true, rows, outF, inF, x.Storage, x.Offset, ldx, w.Storage, w.Offset, inF,
                    b?.Storage, b?.Offset ?? 0, y, 0, outF, null);
                var inputs = bias == null ? new[] { input, weight } : new[] { input, weight, bias };
                return Autograd.Record(new Tensor(y, LinearSizes(input, outF)), "LinearBackward", inputs, g =>
                {
                    var gy = g.contiguous();
                    return LinearGrads(input, weight, bias, x, xt, ldx, w, gy.Storage, gy.Offset, rows, inF, outF, null);
                });
            }

            /// <summary>The packed copy of <paramref name="weight"/> (contiguous values <paramref name="w"/>) when the
            /// product can take the <see cref="torch.inference_mode"/> path: inside it, with grad mode off and x's rows
            /// unit-stride; null otherwise.</summary>
            internal static float[]? Packed(Tensor weight, Tensor w, bool xt, int ldx, int inF) =>
                InferenceMode.Current is { } mode && !Autograd.Enabled && !xt && inF > 0 ? mode.Packed(weight, w) : null;

            /// <summary>Checks the shapes of a linear layer and returns x as [rows, in] (with its GEMM layout) and W.</summary>
            internal static (Tensor x, bool xt, int ldx, Tensor w, int rows, int inF, int outF) LinearOperands(Tensor input, Tensor weight, Tensor? bias)
            {
                int inF = input.Sizes[^1], outF = weight.Sizes[0];
                if (weight.Sizes.Length != 2 || weight.Sizes[1] != inF)
                    throw new ArgumentException($"linear: input {Tensor.ShapeString(input.Sizes)} does not match weight {Tensor.ShapeString(weight.Sizes)} ([out, in])");
                if (bias != null && (bias.Sizes.Length != 1 || bias.Sizes[0] != outF))
                    throw new ArgumentException($"linear: bias shape {Tensor.ShapeString(bias.Sizes)} must be [{outF}]");
                int rows = input.Numel / Math.Max(inF, 1);
                var x = Rows(input, rows, inF);
                var (xt, ldx) = Tensor.GemmLayout(rows, inF, x.Strides[0], x.Strides[1])!.Value;
                return (x, xt, ldx, weight.contiguous().detach(), rows, inF, outF);
            }

            /// <summary>The input's shape with the last dimension replaced by <paramref name="outF"/>.</summary>
            internal static int[] LinearSizes(Tensor input, int outF)
            {
                var sizes = (int[])input.Sizes.Clone();
                sizes[^1] = outF;
                return sizes;
            }

            /// <summary>Gradients of y = x W^T + b (for [input, weight, bias?]) from dy [rows, out] (contiguous at
            /// <paramref name="gyOffset"/>); <paramref name="biasGrad"/>, when the caller already summed it, is used as is.</summary>
            internal static Tensor?[] LinearGrads(Tensor input, Tensor weight, Tensor? bias, Tensor x, bool xt, int ldx, Tensor w,
                float[] gy, int gyOffset, int rows, int inF, int outF, float[]? biasGrad)
            {
                var grads = new Tensor?[bias == null ? 2 : 3];
                if (input.requires_grad)
                {
                    // dx[rows, in] = g[rows, out] @ W[out, in]
                    var gx = Buffers.Uninitialized(rows * inF);
                    Gemm.Sgemm(false, false, rows, inF, outF, 1f, gy, gyOffset, outF, w.Storage, w.Offset, inF, 0f, gx, 0, inF);
                    grads[0] = new Tensor(gx, (int[])input.Sizes.Clone());
                }
                if (weight.requires_grad)
                {
                    // dW[out, in] = g^T[out, rows] @ x[rows, in]
                    var gw = Buffers.Uninitialized(outF * inF);
                    Gemm.Sgemm(true, xt, outF, inF, rows, 1f, gy, gyOffset, outF, x.Storage, x.Offset, ldx, 0f, gw, 0, inF);
                    grads[1] = new Tensor(gw, [outF, inF]);
                }
                if (bias != null && bias.requires_grad)
                {
                    if (biasGrad == null)
                    {
                        biasGrad = new float[outF];
                        ColumnSlices(outF, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (int c0, int n) =>
                        {
                            var acc = biasGrad.AsSpan(c0, n);
                            for (int r = 0; r < rows; r++) Simd.Add(acc, gy.AsSpan(gyOffset + r * outF + c0, n), acc);
                        });
                    }
                    grads[2] = new Tensor(biasGrad, [outF]);
                }
                return grads;
            }

            /// <summary>Runs body(c0, n) over column slices of [0, width) in parallel, one slice per core, so that a
            /// column sum taken over the rows in order gives the same result on any number of cores, and each pass over
            /// the rows reads as much of a row as it can.</summary>
            internal static void ColumnSlices(int width, Action<int, int> body)
                => Loops.Chunked(width, Math.Max(64, (width + Environment.ProcessorCount - 1) / Environment.ProcessorCount), body);

            /// <summary>A [rows, cols] view of x without autograd (folding leading dimensions), copying only when the
            /// layout cannot be described with one row stride.</summary>
            private static Tensor Rows(Tensor x, int rows, int cols)
            {
                var strides = x.ViewStrides([rows, cols]);
                if (strides != null && Tensor.GemmLayout(rows, cols, strides[0], strides[1]) != null)
                    return new Tensor(x.Storage, [rows, cols], strides, x.Offset);
                return new Tensor(x.ToArray(), [rows, cols]);
            }

            /// <summary>Layer normalisation over the last dimension (Ba et al. 2016): (x - mean) / sqrt(var + eps) * w + b,
            /// with the biased variance.</summary>
            public static Tensor layer_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
                => Norm(input, normalized_shape, weight, bias, eps, rms: false);

            /// <summary>RMS normalisation over the last dimension (Zhang and Sennrich 2019): x / sqrt(mean(x^2) + eps) * w.</summary>
            public static Tensor rms_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, double eps = 1e-6)
                => Norm(input, normalized_shape, weight, null, eps, rms: true);

            [ThreadStatic] private static float[]? _normScratch;

            private static Tensor Norm(Tensor input, long[] normalizedShape, Tensor? weight, Tensor? bias, double eps, bool rms)
            {
                int width = input.Sizes[^1];
                if (normalizedShape.Length != 1 || normalizedShape[0] != width)
                    throw new ArgumentException($"normalisation over [{string.Join(", ", normalizedShape)}] is not supported for input {Tensor.ShapeString(input.Sizes)}: only the last dimension");
                int rows = input.Numel / Math.Max(width, 1);
                var x = input.contiguous().detach();
                var w = weight?.contiguous().detach();
                var b = bias?.contiguous().detach();
                var y = Buffers.Uninitialized(input.Numel);
                // x̂ is kept only for a backward; without one each row's goes to a scratch of its thread (the
                // inference forward allocated a second output-sized array per call for nothing).
                bool backward = Autograd.Enabled && (input.requires_grad || weight?.requires_grad == true || bias?.requires_grad == true);
                var xhat = backward ? Buffers.Uninitialized(input.Numel) : null;
                var rstd = new float[rows];
                float e = (float)eps;
                Tensor.ForRows(rows, width, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (int r) =>
                    rstd[r] = NormRows.Forward(x.Storage.AsSpan(x.Offset + r * width, width), xhat == null ? Buffers.Scratch(ref _normScratch, width).AsSpan(0, width) : xhat.AsSpan(r * width, width),
                        y.AsSpan(r * width, width), w == null ? default : w.Span, b == null ? default : b.Span, e, rms));
                var inputs = new List<Tensor> { input };
                if (weight != null) inputs.Add(weight);
                if (bias != null) inputs.Add(bias);
                var result = new Tensor(y, (int[])input.Sizes.Clone());
                return Autograd.Record(result, rms ? "RmsNormBackward" : "LayerNormBackward", inputs.ToArray(), g =>
                {
                    var gy = g.contiguous();
                    var gx = Buffers.Uninitialized(xhat!.Length);
                    // Per-chunk partial sums of dw, db so that rows can run in parallel.
                    // Keyed by first row and summed in that order, so the result does not depend on thread timing.
                    var partials = new SortedList<int, (float[] dw, float[] db)>();
                    Loops.Chunked(rows, Math.Max(1, (1 << 14) / Math.Max(width, 1)), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (int start, int n) =>
                    {
                        var dw = new float[width];
                        var db = new float[width];
                        for (int r = start; r < start + n; r++)
                            NormRows.Backward(gy.Storage.AsSpan(gy.Offset + r * width, width), xhat.AsSpan(r * width, width),
                                w == null ? default : w.Span, rstd[r], dw, db, gx.AsSpan(r * width, width), rms);
                        lock (partials) partials.Add(start, (dw, db));
                    });
                    var grads = new Tensor?[inputs.Count];
                    grads[0] = new Tensor(gx, (int[])input.Sizes.Clone());
                    int k = 1;
                    if (weight != null)
                    {
                        var dw = new float[width];
                        foreach (var p in partials.Values) Simd.Add(dw, p.dw, dw);
                        grads[k++] = new Tensor(dw, [width]);
                    }
                    if (bias != null)
                    {
                        var db = new float[width];
                        foreach (var p in partials.Values) Simd.Add(db, p.db, db);
                        grads[k] = new Tensor(db, [width]);
                    }
                    return grads;
                }, scratch: xhat == null ? null : [xhat]);
            }

            /// <summary>Rows of <paramref name="weight"/> [V, D] for each id; output shape = idsShape + [D].</summary>
            public static Tensor embedding(int[] ids, long[] idsShape, Tensor weight)
            {
                int vocab = weight.Sizes[0], dim = weight.Sizes[1];
                if (Tensor.NumelOf(Tensor.ToInt(idsShape)) != ids.Length)
                    throw new ArgumentException($"embedding: {ids.Length} ids do not fill shape [{string.Join(", ", idsShape)}]");
                foreach (var id in ids)
                    if (id < 0 || id >= vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"embedding: id {id} is outside the vocabulary [0, {vocab})");
                var w = weight.contiguous().detach();
                var y = Buffers.Uninitialized(ids.Length * dim);
                for (int i = 0; i < ids.Length; i++) Array.Copy(w.Storage, w.Offset + ids[i] * dim, y, i * dim, dim);
                var sizes = new int[idsShape.Length + 1];
                for (int i = 0; i < idsShape.Length; i++) sizes[i] = (int)idsShape[i];
                sizes[^1] = dim;
                return Autograd.Record(new Tensor(y, sizes), "EmbeddingBackward", [weight], g =>
                {
                    // Scatter-add: repeated ids accumulate.
                    var gy = g.contiguous();
                    var gw = new float[vocab * dim];
                    for (int i = 0; i < ids.Length; i++)
                    {
                        var acc = gw.AsSpan(ids[i] * dim, dim);
                        Simd.Add(acc, gy.Storage.AsSpan(gy.Offset + i * dim, dim), acc);
                    }
                    return [new Tensor(gw, [vocab, dim])];
                });
            }

            /// <summary>embedding with an id tensor of whole numbers.</summary>
            public static Tensor embedding(Tensor input, Tensor weight) => embedding(Tensor.Indices(input), input.shape, weight);

            /// <summary>Cross-entropy of logits [N, C] against class ids [N]; rows whose target is
            /// <paramref name="ignore_index"/> contribute nothing and "mean" divides by the number of other rows.</summary>
            public static Tensor cross_entropy(Tensor input, int[] target, int ignore_index = -100, string reduction = "mean")
            {
                if (input.Sizes.Length != 2) throw new ArgumentException($"cross_entropy expects logits [N, C], got {Tensor.ShapeString(input.Sizes)}");
                int n = input.Sizes[0], c = input.Sizes[1];
                if (target.Length != n) throw new ArgumentException($"cross_entropy: {target.Length} targets for {n} rows");
                var x = input.contiguous().detach();
                var lse = new float[n];
                var losses = new float[n];
                int count = 0;
                for (int i = 0; i < n; i++)
                {
                    if (target[i] == ignore_index) continue;
                    if (target[i] < 0 || target[i] >= c) throw new ArgumentOutOfRangeException(nameof(target), $"cross_entropy: target {target[i]} at row {i} is outside [0, {c})");
                    count++;
                }
                Tensor.ForRows(n, c, i =>
                {
                    if (target[i] == ignore_index) return;
                    var row = x.Storage.AsSpan(x.Offset + i * c, c);
                    float max = Simd.Max(row);
                    Span<float> e = c <= 4096 ? stackalloc float[c] : new float[c];
                    row.CopyTo(e);
                    lse[i] = max + MathF.Log(VectorMath.ExpShiftedSum(e, max));
                    losses[i] = lse[i] - row[target[i]];
                });
                Tensor result = reduction switch
                {
                    "none" => new Tensor(losses, [n]),
                    "sum" => Tensor.Scalar(Sum(losses)),
                    "mean" => Tensor.Scalar(Sum(losses) / count),
                    _ => throw new ArgumentException($"reduction must be \"mean\", \"sum\" or \"none\", got \"{reduction}\""),
                };
                return Autograd.Record(result, "CrossEntropyBackward", [input], g =>
                {
                    var gv = g.contiguous();
                    var gx = new float[n * c];
                    Tensor.ForRows(n, c, i =>
                    {
                        if (target[i] == ignore_index) return;
                        float scale = reduction == "none" ? gv.Storage[gv.Offset + i] : reduction == "sum" ? gv.Storage[gv.Offset] : gv.Storage[gv.Offset] / count;
                        var row = x.Storage.AsSpan(x.Offset + i * c, c);
                        var dst = gx.AsSpan(i * c, c);
                        // d loss / d logits = softmax - onehot
                        row.CopyTo(dst);
                        VectorMath.ExpShiftedSum(dst, lse[i]);
                        dst[target[i]] -= 1;
                        Simd.Multiply(dst, scale, dst);
                    });
                    return [new Tensor(gx, [n, c])];
                });
            }

            /// <summary>cross_entropy with a target tensor of whole numbers.</summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, int ignore_index = -100, string reduction = "mean")
                => cross_entropy(input, Tensor.Indices(target), ignore_index, reduction);

            private static float Sum(float[] values)
            {
                double s = 0;
                foreach (var v in values) s += v;
                return (float)s;
            }

            /// <summary>Binary cross-entropy on logits with (soft) targets in [0, 1], computed stably as
            /// max(x, 0) - x t + log(1 + e^-|x|).</summary>
            public static Tensor binary_cross_entropy_with_logits(Tensor input, Tensor target, string reduction = "mean")
            {
                if (!input.SameShape(target))
                    throw new ArgumentException($"binary_cross_entropy_with_logits: target shape {Tensor.ShapeString(target.Sizes)} must equal input shape {Tensor.ShapeString(input.Sizes)}");
                var x = input.contiguous().detach();
                var t = target.contiguous().detach();
                var xs = x.Span;
                var ts = t.Span;
                var loss = new float[xs.Length];
                for (int i = 0; i < loss.Length; i++)
                    loss[i] = MathF.Max(xs[i], 0) - xs[i] * ts[i] + MathF.Log(1 + MathF.Exp(-MathF.Abs(xs[i])));
                int n = loss.Length;
                Tensor result = reduction switch
                {
                    "none" => new Tensor(loss, (int[])input.Sizes.Clone()),
                    "sum" => Tensor.Scalar(Sum(loss)),
                    "mean" => Tensor.Scalar(Sum(loss) / n),
                    _ => throw new ArgumentException($"reduction must be \"mean\", \"sum\" or \"none\", got \"{reduction}\""),
                };
                return Autograd.Record(result, "BinaryCrossEntropyWithLogitsBackward", [input, target], g =>
                {
                    var scale = reduction == "none" ? g : g.div(reduction == "mean" ? n : 1).expand(input.shape);
                    var xv = x.Span;
                    var tv = t.Span;
                    var sig = new float[n];
                    for (int i = 0; i < n; i++) sig[i] = 1f / (1f + MathF.Exp(-xv[i]));
                    var sigT = new Tensor(sig, (int[])input.Sizes.Clone());
                    return
                    [
                        input.requires_grad ? scale.mul(sigT.sub(t)) : null, // d/dx = sigmoid(x) - t
                        target.requires_grad ? scale.mul(x).neg() : null,    // d/dt = -x
                    ];
                });
            }

            /// <summary>Zeroes each element with probability <paramref name="p"/> and scales the rest by 1/(1-p) when training.</summary>
            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
            {
                if (p < 0 || p > 1) throw new ArgumentOutOfRangeException(nameof(p), $"dropout probability must be in [0, 1], got {p}");
                if (!training || p == 0) return input;
                var mask = new float[input.Numel];
                var gen = generator ?? default_generator;
                float keep = p >= 1 ? 0 : (float)(1 / (1 - p));
                for (int i = 0; i < mask.Length; i++) mask[i] = gen.NextDouble() >= p ? keep : 0;
                return input.mul(new Tensor(mask, (int[])input.Sizes.Clone()));
            }

            /// <summary>Exact (erf) GELU.</summary>
            public static Tensor gelu(Tensor x) => x.gelu();

            /// <summary>SiLU: x * sigmoid(x).</summary>
            public static Tensor silu(Tensor x) => x.silu();

            /// <summary>max(x, 0).</summary>
            public static Tensor relu(Tensor x) => x.relu();

            /// <summary>Softmax along <paramref name="dim"/>.</summary>
            public static Tensor softmax(Tensor x, long dim) => x.softmax(dim);

            /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
            public static Tensor log_softmax(Tensor x, long dim) => x.log_softmax(dim);
        }
    }
}
