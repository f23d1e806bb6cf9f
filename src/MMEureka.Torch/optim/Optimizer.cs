namespace MMEureka.Torch;

public static partial class torch
{
    /// <summary>Optimisers and learning-rate schedules (TorchSharp's <c>torch.optim</c>).</summary>
    public static partial class optim
    {
        /// <summary>A set of parameters sharing a learning rate and weight decay.</summary>
        public sealed class ParamGroup(IEnumerable<Tensor> parameters, double? lr = null, double? weight_decay = null)
        {
            public List<Tensor> parameters { get; } = [.. parameters];
            /// <summary>Learning rate (null until the optimiser fills in its default).</summary>
            public double? lr { get; set; } = lr;
            /// <summary>Weight decay (null until the optimiser fills in its default).</summary>
            public double? weight_decay { get; set; } = weight_decay;
            /// <summary>The learning rate the group started with (schedulers scale it).</summary>
            public double initial_lr { get; internal set; }
        }

        /// <summary>Base of the optimisers: parameter groups, <see cref="step"/> and <see cref="zero_grad"/>.</summary>
        public abstract class Optimizer
        {
            protected Optimizer(IEnumerable<ParamGroup> groups, double lr, double weightDecay)
            {
                param_groups = [.. groups];
                foreach (var g in param_groups)
                {
                    g.lr ??= lr;
                    g.weight_decay ??= weightDecay;
                    g.initial_lr = g.lr.Value;
                    foreach (var p in g.parameters)
                        if (!p.requires_grad) throw new ArgumentException("optimizer given a tensor that does not require grad");
                }
            }

            /// <summary>The parameter groups; set <c>lr</c> on them to change the learning rate.</summary>
            public List<ParamGroup> param_groups { get; }

            /// <summary>Number of <see cref="step"/> calls so far.</summary>
            public int steps { get; private set; }

            /// <summary>Updates every parameter that has a gradient.</summary>
            public void step()
            {
                steps++;
                using var _ = no_grad();
                foreach (var g in param_groups)
                    foreach (var p in g.parameters)
                        if (p.grad != null) Update(p, p.grad, g.lr!.Value, g.weight_decay!.Value);
            }

            /// <summary>One parameter's update.</summary>
            protected abstract void Update(Tensor parameter, Tensor grad, double lr, double weightDecay);

            /// <summary>Drops all gradients.</summary>
            public void zero_grad()
            {
                foreach (var g in param_groups)
                    foreach (var p in g.parameters) p.grad = null;
            }

            /// <summary>Per-parameter state arrays, allocated on first use.</summary>
            protected float[] State(Dictionary<Tensor, float[]> store, Tensor p)
            {
                if (!store.TryGetValue(p, out var s)) store[p] = s = new float[p.Numel];
                return s;
            }

            /// <summary>The elements of a parameter (parameters are contiguous leaves).</summary>
            protected static Span<float> Values(Tensor parameter) => parameter.is_contiguous()
                ? parameter.Span
                : throw new InvalidOperationException("optimizers need contiguous parameters");

            /// <summary>The elements of a gradient.</summary>
            protected static ReadOnlySpan<float> GradValues(Tensor grad) => grad.contiguous().Span;
        }

        /// <summary>Stochastic gradient descent with optional momentum and (L2) weight decay, as in PyTorch.</summary>
        public static Modules.SGD SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false)
            => new([new ParamGroup(parameters)], lr, momentum, dampening, weight_decay, nesterov);

        /// <summary>SGD over explicit parameter groups.</summary>
        public static Modules.SGD SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false)
            => new(groups, lr, momentum, dampening, weight_decay, nesterov);

        /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter 2019), as in PyTorch.</summary>
        public static Modules.AdamW AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 0.01)
            => new([new ParamGroup(parameters)], lr, beta1, beta2, eps, weight_decay);

        /// <summary>AdamW over explicit parameter groups (e.g. no decay for biases and norms).</summary>
        public static Modules.AdamW AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 0.01)
            => new(groups, lr, beta1, beta2, eps, weight_decay);
    }
}
