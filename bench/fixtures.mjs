// Fixture generators for the benchmark (bench/run.mjs). Everything is
// made at run time from a seeded PRNG: no state, key or secret is committed.
//
// - checkpoint(): a Pulumi checkpoint as SST's local home stores it
//   (`{ version: 3, checkpoint: { stack, latest: { manifest, secrets_providers,
//   resources, pending_operations } } }`, 4-space indented like
//   `pulumi stack export`) whose resources look like an SST app's: component
//   resources with children, providers, Lambda functions with environment
//   variables and secret outputs, IAM roles and policies, buckets, log groups,
//   API routes... About 2.8 KB per resource, so 30,000 resources is ~85 MB.
// - passphrase(): base64 of 32 random bytes, no newline (SST's format).
// - sstEncrypt(): SST's secrets file: 12-byte nonce + AES-256-GCM(JSON) + tag,
//   key = the base64-decoded passphrase.
import { createCipheriv, createHash } from 'node:crypto'

/** Deterministic PRNG (mulberry32). */
export function prng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(next() * n)
  const pick = (arr) => arr[int(arr.length)]
  const hex = (n) => {
    let s = ''
    while (s.length < n) s += (int(0x100000000) >>> 0).toString(16).padStart(8, '0')
    return s.slice(0, n)
  }
  const bytes = (n) => {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = int(256)
    return b
  }
  return { next, int, pick, hex, bytes }
}

const REGION = 'us-east-1'
const ACCOUNT = '123456789012'
const WORDS = ['api', 'web', 'auth', 'billing', 'users', 'orders', 'search', 'events', 'mailer', 'reports', 'ingest', 'metrics', 'alerts', 'cron', 'queue', 'media', 'admin', 'public', 'graph', 'sync']

function iso(rnd) {
  const t = Date.UTC(2025, 0, 1) + rnd.int(300 * 24 * 3600) * 1000
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z')
}

function secretValue(rnd, bytes = 48) {
  // Pulumi's marker for a secret, encrypted with the stack's passphrase provider.
  return {
    '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270',
    ciphertext: `v1:${rnd.bytes(12).toString('base64')}:${rnd.bytes(bytes).toString('base64')}`,
  }
}

function tags(rnd, app, stage, name) {
  return {
    'sst:app': app,
    'sst:stage': stage,
    'sst:component': name,
    team: rnd.pick(['platform', 'payments', 'growth', 'data']),
  }
}

// Each kind returns { type, id, inputs, outputs } for one custom resource.
const KINDS = [
  // Lambda function: the biggest resources of an SST app (env vars, policies).
  (rnd, ctx) => {
    const fn = `${ctx.app}-${ctx.stage}-${ctx.name}Function-${rnd.hex(8)}`
    const env = {}
    const nEnv = 2 + rnd.int(5)
    for (let i = 0; i < nEnv; i++) env[`SST_RESOURCE_${rnd.pick(WORDS)}${i}`] = `{"name":"${rnd.pick(WORDS)}-${rnd.hex(10)}","type":"sst.aws.${rnd.pick(['Bucket', 'Dynamo', 'Queue', 'Function'])}","arn":"arn:aws:${rnd.pick(['s3', 'dynamodb', 'sqs', 'lambda'])}:${REGION}:${ACCOUNT}:${rnd.hex(16)}"}`
    env.SST_KEY = secretValue(rnd, 32)
    const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fn}`
    const inputs = {
      __defaults: [],
      architectures: ['arm64'],
      code: { '4dabf18193072939515e22adb298388d': '0def7320c3a5731c473e5ecbe6d01bc7', assets: {}, hash: rnd.hex(64) },
      description: `${ctx.name} handler`,
      environment: { __defaults: [], variables: env },
      handler: `bootstrap.handler`,
      loggingConfig: { __defaults: [], logFormat: 'Text', logGroup: `/aws/lambda/${fn}` },
      memorySize: rnd.pick([128, 512, 1024, 2048]),
      name: fn,
      role: `arn:aws:iam::${ACCOUNT}:role/${fn}-role`,
      runtime: 'nodejs20.x',
      s3Bucket: `${ctx.app}-${ctx.stage}-assets-${rnd.hex(8)}`,
      s3Key: `assets/${rnd.hex(64)}.zip`,
      tags: tags(rnd, ctx.app, ctx.stage, ctx.name),
      timeout: rnd.pick([10, 20, 30, 60]),
    }
    const outputs = {
      ...inputs,
      arn,
      codeSha256: rnd.bytes(32).toString('base64'),
      id: fn,
      invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${arn}/invocations`,
      lastModified: iso(rnd),
      qualifiedArn: `${arn}:$LATEST`,
      sourceCodeSize: 100000 + rnd.int(4000000),
      tagsAll: tags(rnd, ctx.app, ctx.stage, ctx.name),
      version: '$LATEST',
    }
    return { type: 'aws:lambda/function:Function', id: fn, inputs, outputs }
  },
  // IAM role with an assume-role policy document.
  (rnd, ctx) => {
    const name = `${ctx.app}-${ctx.stage}-${ctx.name}Role-${rnd.hex(8)}`
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] })
    const inputs = { __defaults: ['forceDetachPolicies', 'maxSessionDuration', 'path'], assumeRolePolicy: policy, forceDetachPolicies: false, managedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'], maxSessionDuration: 3600, name, path: '/', tags: tags(rnd, ctx.app, ctx.stage, ctx.name) }
    const outputs = { ...inputs, arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, createDate: iso(rnd), id: name, inlinePolicies: [], tagsAll: tags(rnd, ctx.app, ctx.stage, ctx.name), uniqueId: `AROA${rnd.hex(17).toUpperCase()}` }
    return { type: 'aws:iam/role:Role', id: name, inputs, outputs }
  },
  // Inline role policy with several statements.
  (rnd, ctx) => {
    const name = `${ctx.name}-policy-${rnd.hex(6)}`
    const statements = []
    const n = 2 + rnd.int(4)
    for (let i = 0; i < n; i++) statements.push({ Effect: 'Allow', Action: [`${rnd.pick(['s3', 'dynamodb', 'sqs', 'ssm'])}:*`], Resource: [`arn:aws:${rnd.pick(['s3', 'dynamodb', 'sqs'])}:${REGION}:${ACCOUNT}:${rnd.pick(WORDS)}-${rnd.hex(12)}`, `arn:aws:s3:::${rnd.pick(WORDS)}-${rnd.hex(12)}/*`] })
    const inputs = { __defaults: [], name, policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }), role: `${ctx.app}-${ctx.stage}-${ctx.name}Role-${rnd.hex(8)}` }
    return { type: 'aws:iam/rolePolicy:RolePolicy', id: `${inputs.role}:${name}`, inputs, outputs: { ...inputs, id: `${inputs.role}:${name}` } }
  },
  // CloudWatch log group.
  (rnd, ctx) => {
    const name = `/aws/lambda/${ctx.app}-${ctx.stage}-${ctx.name}Function-${rnd.hex(8)}`
    const inputs = { __defaults: ['skipDestroy'], logGroupClass: 'STANDARD', name, retentionInDays: rnd.pick([7, 30, 90, 365]), skipDestroy: false, tags: tags(rnd, ctx.app, ctx.stage, ctx.name) }
    const outputs = { ...inputs, arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`, id: name, kmsKeyId: '', namePrefix: '', tagsAll: tags(rnd, ctx.app, ctx.stage, ctx.name) }
    return { type: 'aws:cloudwatch/logGroup:LogGroup', id: name, inputs, outputs }
  },
  // S3 bucket.
  (rnd, ctx) => {
    const bucket = `${ctx.app}-${ctx.stage}-${ctx.name.toLowerCase()}bucket-${rnd.hex(8)}`
    const inputs = { __defaults: [], bucket, forceDestroy: true, tags: tags(rnd, ctx.app, ctx.stage, ctx.name) }
    const outputs = { ...inputs, accelerationStatus: '', acl: null, arn: `arn:aws:s3:::${bucket}`, bucketDomainName: `${bucket}.s3.amazonaws.com`, bucketRegionalDomainName: `${bucket}.s3.${REGION}.amazonaws.com`, corsRules: [], grants: [{ id: rnd.hex(64), permissions: ['FULL_CONTROL'], type: 'CanonicalUser', uri: '' }], hostedZoneId: 'Z3AQBSTGFYJSTF', id: bucket, lifecycleRules: [], loggings: [], objectLockEnabled: false, region: REGION, requestPayer: 'BucketOwner', serverSideEncryptionConfiguration: { rules: [{ applyServerSideEncryptionByDefault: { kmsMasterKeyId: '', sseAlgorithm: 'AES256' }, bucketKeyEnabled: false }] }, tagsAll: tags(rnd, ctx.app, ctx.stage, ctx.name), versioning: { enabled: false, mfaDelete: false }, websites: [] }
    return { type: 'aws:s3/bucketV2:BucketV2', id: bucket, inputs, outputs }
  },
  // API Gateway v2 route + integration.
  (rnd, ctx) => {
    const apiId = rnd.hex(10)
    const id = rnd.hex(7)
    const routeKey = `${rnd.pick(['GET', 'POST', 'PUT', 'DELETE'])} /${rnd.pick(WORDS)}/{id}/${rnd.pick(WORDS)}`
    const inputs = { __defaults: [], apiId, routeKey, target: `integrations/${rnd.hex(7)}`, authorizationType: rnd.pick(['NONE', 'JWT', 'AWS_IAM']) }
    const outputs = { ...inputs, apiKeyRequired: false, authorizationScopes: [], id, modelSelectionExpression: '', operationName: '', requestModels: {}, requestParameters: [], routeResponseSelectionExpression: '' }
    return { type: 'aws:apigatewayv2/route:Route', id, inputs, outputs }
  },
  // Lambda permission (small; SST makes one per route, cron, subscriber).
  (rnd, ctx) => {
    const id = `${ctx.name}Permission-${rnd.hex(8)}`
    const inputs = { __defaults: ['statementId'], action: 'lambda:InvokeFunction', function: `${ctx.app}-${ctx.stage}-${ctx.name}Function-${rnd.hex(8)}`, principal: rnd.pick(['apigateway.amazonaws.com', 'events.amazonaws.com', 'sqs.amazonaws.com']), sourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${rnd.hex(10)}/*`, statementId: id }
    return { type: 'aws:lambda/permission:Permission', id, inputs, outputs: { ...inputs, id, qualifier: '' } }
  },
  // Bucket public access block (small).
  (rnd, ctx) => {
    const bucket = `${ctx.app}-${ctx.stage}-${ctx.name.toLowerCase()}bucket-${rnd.hex(8)}`
    const inputs = { __defaults: [], blockPublicAcls: true, blockPublicPolicy: true, bucket, ignorePublicAcls: true, restrictPublicBuckets: true }
    return { type: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', id: bucket, inputs, outputs: { ...inputs, id: bucket } }
  },
  // DynamoDB table.
  (rnd, ctx) => {
    const name = `${ctx.app}-${ctx.stage}-${ctx.name}Table-${rnd.hex(8)}`
    const attrs = [{ name: 'pk', type: 'S' }, { name: 'sk', type: 'S' }, { name: 'gsi1pk', type: 'S' }]
    const inputs = { __defaults: [], attributes: attrs, billingMode: 'PAY_PER_REQUEST', globalSecondaryIndexes: [{ hashKey: 'gsi1pk', name: 'gsi1', projectionType: 'ALL', rangeKey: 'sk' }], hashKey: 'pk', name, pointInTimeRecovery: { enabled: true }, rangeKey: 'sk', streamEnabled: true, streamViewType: 'NEW_AND_OLD_IMAGES', tags: tags(rnd, ctx.app, ctx.stage, ctx.name) }
    const outputs = { ...inputs, arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`, id: name, streamArn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}/stream/${iso(rnd)}`, streamLabel: iso(rnd), tagsAll: tags(rnd, ctx.app, ctx.stage, ctx.name), ttl: { attributeName: '', enabled: false } }
    return { type: 'aws:dynamodb/table:Table', id: name, inputs, outputs }
  },
]

// How often each kind appears (index into KINDS): small resources dominate,
// as in real SST apps. Tuned so the average resource is ~2.8 KB.
const WEIGHTED = [0, 0, 1, 2, 3, 3, 4, 5, 5, 5, 6, 6, 6, 6, 6, 7, 7, 7, 7, 8]

/**
 * A Pulumi checkpoint (SST local home format) with `resources` resources.
 * `revision` changes timestamps/ids of ~2% of resources, like a deploy that
 * updated a few functions (same size, different bytes).
 */
export function checkpoint({ app, stage, resources, seed = 1, revision = 0 }) {
  const rnd = prng(seed)
  const rev = prng(seed * 7919 + revision + 1)
  const stackType = 'pulumi:pulumi:Stack'
  const stackUrn = `urn:pulumi:${stage}::${app}::${stackType}::${app}-${stage}`
  const providerUrn = `urn:pulumi:${stage}::${app}::pulumi:providers:aws::default_6_66_2`
  const providerId = '04da6b54-80e4-46f7-96ec-b56ff0331ba9'
  const out = [
    { urn: stackUrn, custom: false, type: stackType, outputs: { _protect: false }, created: '2025-01-01T00:00:00Z', modified: '2025-01-01T00:00:00Z' },
    {
      urn: providerUrn,
      custom: true,
      id: providerId,
      type: 'pulumi:providers:aws',
      inputs: { __internal: { pluginDownloadURL: '' }, region: REGION, skipCredentialsValidation: 'false', skipRegionValidation: 'true', version: '6.66.2' },
      outputs: { region: REGION, skipCredentialsValidation: 'false', skipRegionValidation: 'true', version: '6.66.2' },
      parent: stackUrn,
      created: '2025-01-01T00:00:00Z',
      modified: '2025-01-01T00:00:00Z',
    },
  ]
  let component = null
  let siblings = []
  while (out.length < resources) {
    // A component (e.g. sst:aws:Function) every ~6 resources, then its children.
    if (!component || siblings.length >= 5) {
      const name = `${rnd.pick(WORDS)[0].toUpperCase()}${rnd.pick(WORDS).slice(1)}${out.length}`
      const ctype = rnd.pick(['sst:aws:Function', 'sst:aws:Bucket', 'sst:aws:ApiGatewayV2', 'sst:aws:Dynamo', 'sst:aws:Cron'])
      component = { name, type: ctype, urn: `urn:pulumi:${stage}::${app}::${ctype}::${name}` }
      siblings = []
      out.push({ urn: component.urn, custom: false, type: ctype, outputs: { _hint: `${name}`, _metadata: { handler: `src/${name.toLowerCase()}.handler` } }, parent: stackUrn, created: iso(rnd), modified: iso(rnd) })
      continue
    }
    const kind = KINDS[WEIGHTED[rnd.int(WEIGHTED.length)]](rnd, { app, stage, name: component.name })
    const urn = `urn:pulumi:${stage}::${app}::${component.type}$${kind.type}::${component.name}${kind.type.split(':').pop()}${siblings.length}`
    const deps = [...siblings.slice(-2)]
    const created = iso(rnd)
    let modified = iso(rnd)
    let outputs = kind.outputs
    if (revision && rev.next() < 0.02) {
      modified = new Date(Date.UTC(2025, 10, 1) + revision * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
      outputs = { ...outputs, lastModified: modified }
    }
    out.push({
      urn,
      custom: true,
      id: kind.id,
      type: kind.type,
      inputs: kind.inputs,
      outputs,
      parent: component.urn,
      dependencies: deps,
      provider: `${providerUrn}::${providerId}`,
      propertyDependencies: Object.fromEntries(Object.keys(kind.inputs).slice(1, 3).map((k, i) => [k, i === 0 ? deps.slice(-1) : []])),
      created,
      modified,
    })
    siblings.push(urn)
  }
  const doc = {
    version: 3,
    checkpoint: {
      stack: `organization/${app}/${stage}`,
      latest: {
        manifest: { time: new Date(Date.UTC(2025, 10, 1) + revision * 1000).toISOString(), magic: createHash('sha256').update(String(seed)).digest('hex'), version: 'v3.215.0' },
        secrets_providers: { type: 'passphrase', state: { salt: `v1:${rnd.bytes(8).toString('base64')}:v1:${rnd.bytes(12).toString('base64')}:${rnd.bytes(32).toString('base64')}` } },
        resources: out,
        metadata: {},
      },
    },
  }
  return JSON.stringify(doc, null, 4)
}

/** SST's passphrase file: base64 of 32 random bytes, no trailing newline. */
export function passphrase(rnd) {
  return rnd.bytes(32).toString('base64')
}

/** SST's secrets file for `obj` under `pass` (base64 passphrase). */
export function sstEncrypt(obj, pass, rnd) {
  const key = Buffer.from(pass, 'base64')
  const nonce = rnd.bytes(12)
  const c = createCipheriv('aes-256-gcm', key, nonce)
  return Buffer.concat([nonce, c.update(JSON.stringify(obj)), c.final(), c.getAuthTag()])
}

/** A few SST secrets (`sst secret set`), realistic lengths. */
export function secrets(rnd, n = 8) {
  const names = ['StripeSecretKey', 'DatabaseUrl', 'SentryDsn', 'GithubToken', 'OpenAiKey', 'SlackWebhook', 'JwtSecret', 'SendgridKey', 'AlgoliaKey', 'PosthogKey']
  const obj = {}
  for (let i = 0; i < n; i++) obj[names[i % names.length] + (i >= names.length ? i : '')] = rnd.bytes(24 + rnd.int(40)).toString('base64url')
  return obj
}

/** A filler source file of a monorepo (~0.5-2 KB, unique content). */
export function sourceFile(rnd, i) {
  const name = `${rnd.pick(WORDS)}${i}`
  const lines = [`// ${name}.ts: generated for the sst-local-state benchmark`, `import { ${rnd.pick(WORDS)} } from "../lib/${rnd.pick(WORDS)}";`, '']
  const n = 3 + rnd.int(10)
  for (let k = 0; k < n; k++) {
    lines.push(`export function ${rnd.pick(WORDS)}${k}_${i}(input: { id: string; n: number }) {`)
    lines.push(`  const key = "${rnd.hex(16)}";`)
    lines.push(`  return { ...input, key, total: input.n * ${rnd.int(1000)} };`)
    lines.push('}', '')
  }
  return lines.join('\n')
}
