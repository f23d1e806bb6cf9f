namespace MMEureka.Torch;

public static partial class torch
{
    public static partial class optim
    {
        /// <summary>Learning-rate schedules: a factor of the initial lr per step.</summary>
        public static class lr_scheduler
        {
            /// <summary>Sets each group's lr to initial_lr * lr_lambda(step): step 0 on creation, then one more per <see cref="LambdaLR.step"/>.</summary>
            public sealed class LambdaLR
            {
                private readonly Optimizer _optimizer;
                private readonly Func<int, double> _lambda;

                public LambdaLR(Optimizer optimizer, Func<int, double> lr_lambda)
                {
                    _optimizer = optimizer;
                    _lambda = lr_lambda;
                    Apply();
                }

                /// <summary>Steps taken.</summary>
                public int last_epoch { get; private set; }

                /// <summary>Advances the schedule (call after optimizer.step()).</summary>
                public void step()
                {
                    last_epoch++;
                    Apply();
                }

                /// <summary>Current learning rate of each group.</summary>
                public double[] get_last_lr() => _optimizer.param_groups.ConvertAll(g => g.lr!.Value).ToArray();

                private void Apply()
                {
                    double f = _lambda(last_epoch);
                    foreach (var g in _optimizer.param_groups) g.lr = g.initial_lr * f;
                }
            }

            /// <summary>The constant factor 1.</summary>
            public static Func<int, double> constant() => _ => 1.0;

            /// <summary>Linear warmup then cosine decay: factor (step + 1) / warmup during the first <paramref name="warmup"/>
            /// steps, then min_ratio + (1 - min_ratio) (1 + cos(pi progress)) / 2 with progress going 0 -> 1 over the
            /// remaining steps up to <paramref name="total"/>, and min_ratio afterwards.</summary>
            public static Func<int, double> warmup_cosine(int warmup, int total, double min_ratio = 0.1) => step =>
            {
                if (step < warmup) return (step + 1.0) / warmup;
                double progress = Math.Clamp((step - warmup) / (double)Math.Max(1, total - warmup), 0, 1);
                return min_ratio + (1 - min_ratio) * 0.5 * (1 + Math.Cos(Math.PI * progress));
            };
        }
    }
}
