#ifndef EVALUATECODE_SERVICE_BACKTEST_REACTOR_H_
#define EVALUATECODE_SERVICE_BACKTEST_REACTOR_H_

#include "common/time_source.h"
#include "evaluate/v1/evaluate.grpc.pb.h"
#include "service/evaluator.h"
#include "service/evaluator_pool.h"
#include "service/request_validator.h"

namespace evaluatecode::service {

// What a Backtest call needs; every pointer must outlive the call.
struct BacktestDependencies {
  const RequestValidator* validator = nullptr;
  const Evaluator* evaluator = nullptr;
  EvaluatorPool* pool = nullptr;
  const TimeSource* time_source = nullptr;
  // Replays running at once when the client asks for 0.
  int default_parallelism = 2;
};

// Starts one Backtest call (see the RPC's comment in evaluate.proto), its messages taken and sent as
// bytes: the returned reactor owns itself and is deleted when gRPC is done with it.
grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* NewBacktestReactor(
    const BacktestDependencies& dependencies);

}  // namespace evaluatecode::service

#endif  // EVALUATECODE_SERVICE_BACKTEST_REACTOR_H_
