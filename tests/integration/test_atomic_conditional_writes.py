"""The embedded AWS keeps DynamoDB's promise: a conditional write is one atomic step."""

from __future__ import annotations

import threading

import boto3
from botocore.exceptions import ClientError

from moviepipe.local.embedded_aws import EmbeddedAWS


def test_of_many_concurrent_conditional_writers_exactly_one_wins(aws: EmbeddedAWS) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=aws.endpoint_url, region_name=aws.region)
    dynamodb.create_table(
        TableName="atomic",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    writers, rounds = 8, 15
    for round_number in range(rounds):
        key = f"k{round_number}"
        barrier = threading.Barrier(writers)
        outcomes: list[str] = []

        def write(
            n: int, key: str = key, barrier: threading.Barrier = barrier, outcomes: list[str] = outcomes
        ) -> None:
            client = boto3.client("dynamodb", endpoint_url=aws.endpoint_url, region_name=aws.region)
            barrier.wait()
            try:
                client.put_item(
                    TableName="atomic",
                    Item={"id": {"S": key}, "writer": {"N": str(n)}},
                    ConditionExpression="attribute_not_exists(id)",
                )
                outcomes.append("won")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["ConditionalCheckFailedException"] * (writers - 1) + ["won"], outcomes
