using MMEureka.Torch.Modules;

namespace MMEureka.Torch;

public static partial class torch
{
    // Factory functions, so that model code reads like TorchSharp: nn.Linear(128, 256).
    public static partial class nn
    {
        /// <summary>A fully connected layer, weight [out, in].</summary>
        public static Linear Linear(long inFeatures, long outFeatures, bool hasBias = true) => new(inFeatures, outFeatures, hasBias);

        /// <summary>An embedding table [num, dim].</summary>
        public static Embedding Embedding(long numEmbeddings, long embeddingDim) => new(numEmbeddings, embeddingDim);

        /// <summary>Layer normalisation over the last dimension.</summary>
        public static LayerNorm LayerNorm(long normalizedShape, double eps = 1e-5, bool elementwiseAffine = true) => new([normalizedShape], eps, elementwiseAffine);

        /// <summary>Layer normalisation over the last dimension.</summary>
        public static LayerNorm LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true) => new(normalizedShape, eps, elementwiseAffine);

        /// <summary>RMS normalisation over the last dimension.</summary>
        public static RMSNorm RMSNorm(long normalizedShape, double eps = 1e-6) => new([normalizedShape], eps);

        /// <summary>Dropout with probability <paramref name="p"/>.</summary>
        public static Dropout Dropout(double p = 0.5, Generator? generator = null) => new(p, generator);

        /// <summary>Exact GELU.</summary>
        public static GELU GELU() => new();

        /// <summary>Layers applied in order.</summary>
        public static Sequential Sequential(params Module<Tensor, Tensor>[] layers) => new(layers);

        /// <summary>A list of modules named "0", "1", ...</summary>
        public static ModuleList<T> ModuleList<T>(params T[] modules) where T : Module => new(modules);

        /// <summary>A pre-LN transformer block (see <see cref="Modules.TransformerBlock"/>).</summary>
        public static TransformerBlock TransformerBlock(long dim, long heads, long mlpRatio = 4, double eps = 1e-5) => new(dim, heads, mlpRatio, eps);

        /// <summary>Gradient utilities.</summary>
        public static class utils
        {
            /// <summary>Scales all gradients so that their joint L2 norm is at most <paramref name="max_norm"/>;
            /// returns the norm before clipping (PyTorch: coefficient max_norm / (norm + 1e-6), capped at 1).</summary>
            public static double clip_grad_norm_(IEnumerable<Tensor> parameters, double max_norm)
            {
                var grads = new List<Tensor>();
                foreach (var p in parameters) if (p.grad != null) grads.Add(p.grad);
                double sq = 0;
                foreach (var g in grads)
                {
                    var c = g.contiguous();
                    foreach (var v in c.Span) sq += (double)v * v;
                }
                double total = Math.Sqrt(sq);
                double coef = max_norm / (total + 1e-6);
                if (coef < 1)
                    using (no_grad())
                        foreach (var g in grads) g.mul_((float)coef);
                return total;
            }
        }
    }
}
