// i18n.js - every string the HQ dashboard shows, in one table: key -> [zh-CN, en].
//
// Chinese is the default; the choice is kept in localStorage.  t(key, {n})
// fills {n}-style placeholders.  A key missing from the table shows as the
// key itself and is remembered in `missing` (the browser test asserts it
// stays empty).  No DOM here, so node can import it (the same pattern as the
// tablet app's node/www/i18n.js).

export const LANGS = ['zh', 'en'];
const LANG_KEY = 'hq.lang';

export const TABLE = {
  'app.title': ['总部运营看板', 'HQ operations'],
  'app.subtitle': ['门店订单 · 时效 · 库存 · 设备', 'Orders · SLA · stock · fleet'],
  'lang.switch': ['English', '中文'],

  'filter.all': ['全部门店', 'All stores'],
  'filter.label': ['门店', 'Store'],
  'tz.label': ['时区 UTC{sign}{h}', 'Time zone UTC{sign}{h}'],
  'live.ok': ['实时 · {ago}更新', 'Live · updated {ago}'],
  'live.connecting': ['正在连接…', 'Connecting…'],
  'live.lost': ['连接中断，{s} 秒后重试', 'Connection lost, retrying in {s} s'],
  'live.paused': ['页面在后台，已放慢刷新', 'In the background: refreshing slowly'],

  'ago.now': ['刚刚', 'just now'],
  'ago.s': ['{n} 秒前', '{n} s ago'],
  'ago.min': ['{n} 分钟前', '{n} min ago'],
  'ago.h': ['{n} 小时前', '{n} h ago'],
  'ago.d': ['{n} 天前', '{n} d ago'],
  'ago.never': ['从未', 'never'],

  'kpi.sales': ['今日销售额', 'Sales today'],
  'kpi.sales_sub': ['已交付 {n} 单', 'Handed off: {n}'],
  'kpi.orders': ['今日订单', 'Orders today'],
  'kpi.open': ['进行中', 'Open now'],
  'kpi.open_sub': ['待接单 {n}', 'Not yet accepted: {n}'],
  'kpi.ended': ['取消 / 拒单', 'Cancelled / rejected'],
  'kpi.ended_sub': ['占今日订单 {p}', '{p} of today\'s orders'],
  'kpi.conflicts': ['冲突待处理', 'Conflicts to resolve'],
  'kpi.conflicts_sub_none': ['没有冲突', 'None'],
  'kpi.conflicts_sub': ['涉及金额 {amount}', '{amount} at stake'],
  'kpi.online': ['门店在线', 'Stores online'],
  'kpi.online_sub': ['离线 {off} · 滞后 {lag}', '{off} offline · {lag} lagging'],

  'banner.conflicts': ['{n} 个订单取消后仍被交付，需要处理（通常为退款）。', 'Handed off after a cancellation: {n}. Each needs a decision, usually a refund.'],
  'banner.offline': ['{n} 家门店离线：它们的最新数据尚未同步到总部。', 'Stores offline: {n}. Their latest figures have not reached HQ.'],
  'banner.goto': ['查看', 'Show'],

  'panel.hourly': ['今日每小时订单', 'Orders by hour, today'],
  'panel.hourly_hint': ['按下单时间；灰色为昨日同时段', 'By dispatch time; grey is yesterday'],
  'panel.status': ['订单状态', 'Orders by status'],
  'panel.status_hint': ['今日订单及所有未完成订单', 'Today\'s orders plus every open order'],
  'panel.sla': ['服务时效（按门店，最差在前）', 'Service times per store, worst first'],
  'panel.sla_hint': ['今日订单的 P50 / P90 / P99；超出门店目标标红', 'P50 / P90 / P99 of today\'s orders; red is over the store\'s target'],
  'panel.stores': ['门店业绩', 'Stores today'],
  'panel.stock': ['库存（全部门店）', 'Stock across stores'],
  'panel.stock_hint': ['可用 = 在库 − 已接单占用', 'Available = on hand − reserved by accepted orders'],
  'panel.fleet': ['设备状态', 'Fleet health'],
  'panel.fleet_hint': ['同步延迟：总部落后于门店的时间', 'Lag: how far HQ is behind the store'],
  'panel.rollout': ['固件发布', 'Firmware rollouts'],
  'panel.rollout_hint': ['分阶段推送到门店设备；失败超过阈值自动停止', 'Staged updates of the store boxes; a rollout halts by itself past its failure threshold'],
  'panel.conflicts': ['冲突订单', 'Conflicts'],
  'panel.conflicts_hint': ['顾客已取消，但订单已被取走或送出', 'Cancelled, yet picked up or shipped'],

  'legend.today': ['今日', 'Today'],
  'legend.yesterday': ['昨日', 'Yesterday'],
  'legend.target': ['目标', 'Target'],
  'legend.lag': ['同步延迟（秒）', 'Lag (s)'],
  'axis.orders': ['订单数', 'Orders'],
  'axis.minutes': ['分钟', 'Minutes'],
  'axis.seconds': ['秒', 'Seconds'],

  'metric.accept': ['接单', 'Accept'],
  'metric.prep': ['制作', 'Prep'],
  'metric.rider_wait': ['骑手等待', 'Rider wait'],
  'metric.total': ['总时长', 'Total'],
  'metric.accept_long': ['接单用时（派单→接单）', 'Time to accept (dispatched → accepted)'],
  'metric.prep_long': ['制作用时（接单→出餐）', 'Prep time (accepted → ready)'],
  'metric.rider_wait_long': ['骑手等待（到店→取走）', 'Rider wait (arrived → handed off)'],
  'metric.total_long': ['总时长（派单→交付）', 'Total (dispatched → handed off)'],

  'status.dispatched': ['待接单', 'Waiting'],
  'status.accepted': ['已接单', 'Accepted'],
  'status.preparing': ['制作中', 'Preparing'],
  'status.ready': ['已出餐', 'Ready'],
  'status.rejected': ['已拒单', 'Rejected'],
  'status.cancelled': ['已取消', 'Cancelled'],
  'status.shipped': ['已发货', 'Shipped'],
  'status.picked_up': ['骑手已取', 'Picked up'],
  'status.completed': ['已完成', 'Completed'],
  'status.delivered': ['已送达', 'Delivered'],

  'kind.pickup': ['自提', 'Pickup'],
  'kind.delivery': ['外卖', 'Delivery'],
  'kind.express': ['快递', 'Express'],

  'col.store': ['门店', 'Store'],
  'col.sales': ['销售额', 'Sales'],
  'col.orders': ['订单', 'Orders'],
  'col.handed_off': ['已交付', 'Handed off'],
  'col.open': ['进行中', 'Open'],
  'col.cancelled': ['取消', 'Cancelled'],
  'col.avg': ['客单价', 'Avg. ticket'],
  'col.n': ['接单数', 'Accepted'],
  'col.sku': ['商品', 'Item'],
  'col.total_stock': ['全部门店', 'All stores'],
  'col.state': ['状态', 'State'],
  'col.last_seen': ['最后联系', 'Last seen'],
  'col.lag': ['同步延迟', 'Lag'],
  'col.outbox': ['待上传', 'Outbox'],
  'col.down': ['待下发', 'To store'],
  'col.version': ['版本', 'Version'],
  'col.tablets': ['平板', 'Tablets'],
  'col.update_state': ['更新状态', 'Update'],
  'col.progress': ['进度', 'Progress'],
  'col.running': ['运行版本', 'Running'],
  'col.installed': ['已安装', 'Installed'],
  'col.size': ['大小', 'Size'],
  'col.registered': ['登记时间', 'Registered'],
  'col.order': ['订单', 'Order'],
  'col.amount': ['金额', 'Amount'],
  'col.cancelled_at': ['取消于', 'Cancelled'],
  'col.handoff_at': ['交付于', 'Handed off'],
  'col.reason': ['取消原因', 'Reason'],

  'sla.chain': ['全部门店', 'All stores'],
  'sla.none': ['今日还没有可统计的订单', 'No orders to measure yet today'],
  'sla.breach': ['超出目标 {target}', 'Over the {target} target'],

  'stock.available': ['可用', 'available'],
  'stock.on_hand': ['在库 {n}', '{n} on hand'],
  'stock.reserved': ['占用 {n}', '{n} reserved'],
  'stock.sold_out': ['售罄', 'Sold out'],
  'stock.low': ['库存低', 'Low'],
  'stock.untracked': ['未盘点', 'Not tracked'],
  'stock.inactive': ['未上架', 'Inactive'],
  'stock.summary': ['{low} 个商品库存低 · {out} 个商品有门店售罄', 'Items low somewhere: {low} · sold out somewhere: {out}'],
  'stock.none': ['还没有商品', 'No items yet'],

  'fleet.ok': ['正常', 'OK'],
  'fleet.lagging': ['同步滞后', 'Lagging'],
  'fleet.stale': ['心跳超时', 'No heartbeat'],
  'fleet.offline': ['离线', 'Offline'],
  'fleet.behind': ['缺 {n} 条', '{n} missing'],
  'fleet.skew': ['时钟偏差 {s} 秒', 'Clock off by {s} s'],
  'fleet.none': ['还没有门店连接', 'No store has connected yet'],

  'rollout.list': ['发布', 'Rollouts'],
  'rollout.none': ['还没有发布', 'No rollout yet'],
  'rollout.unavailable': ['固件信息暂不可用：{msg}', 'Firmware information unavailable: {msg}'],
  'rollout.created': ['创建于 {at}', 'Created {at}'],
  'rollout.stage': ['第 {i}/{n} 阶段 · {p}%', 'Stage {i} of {n} · {p}%'],
  'rollout.stages': ['各阶段推送比例', 'Share of the boxes by stage'],
  'rollout.status.running': ['进行中', 'Running'],
  'rollout.status.halting': ['正在停止', 'Halting'],
  'rollout.status.halted': ['已停止', 'Halted'],
  'rollout.status.done': ['已完成', 'Finished'],
  'rollout.progress': ['{version} 的发布进度', 'Progress of {version}'],
  'rollout.progress_text': ['共 {n} 台：已更新 {committed}，失败 {failed}，回滚中 {rollback}，更新中 {active}，等待 {pending}', '{n} boxes: {committed} updated, {failed} failed, {rollback} rolling back, {active} updating, {pending} waiting'],
  'rollout.count.committed': ['已更新', 'Updated'],
  'rollout.count.failed': ['失败', 'Failed'],
  'rollout.count.rollback': ['回滚中', 'Rolling back'],
  'rollout.count.active': ['更新中', 'Updating'],
  'rollout.count.pending': ['等待', 'Waiting'],
  'rollout.count.boxes': ['共 {n} 台', 'Boxes: {n}'],
  'rollout.threshold': ['失败阈值', 'Failure threshold'],
  'rollout.threshold_n': ['超过 {n} 台失败即停止（已失败 {failed}）', 'halts when more than {n} fail ({failed} failed)'],
  'rollout.threshold_0': ['首台失败即停止（已失败 {failed}）', 'halts at the first failure ({failed} failed)'],
  'rollout.threshold_off': ['不因失败停止（已失败 {failed}）', 'never halts on failures ({failed} failed)'],
  'rollout.reason': ['原因：{reason}', 'Reason: {reason}'],
  'rollout.reason_operator': ['由操作员停止', 'halted by the operator'],
  'rollout.boxes': ['门店设备', 'Boxes'],
  'rollout.boxes_label': ['{version} 的门店设备', 'Boxes of {version}'],
  'rollout.filtered': ['只显示所选门店', 'Only the selected store'],
  'rollout.older': ['另有 {n} 个更早的发布未显示', 'Not shown: {n} older rollouts'],
  'rollout.halt': ['停止发布', 'Halt'],
  'rollout.halt_label': ['停止发布 {version}', 'Halt the rollout of {version}'],

  'fwstate.pending': ['等待推送', 'Not offered yet'],
  'fwstate.offered': ['已推送', 'Offered'],
  'fwstate.idle': ['空闲', 'Idle'],
  'fwstate.downloading': ['下载中', 'Downloading'],
  'fwstate.verifying': ['校验中', 'Verifying'],
  'fwstate.installing': ['安装中', 'Installing'],
  'fwstate.switching': ['切换中', 'Switching'],
  'fwstate.health_check': ['健康检查', 'Health check'],
  'fwstate.committed': ['已更新', 'Updated'],
  'fwstate.rollback': ['回滚中', 'Rolling back'],
  'fwstate.failed': ['失败', 'Failed'],
  'fw.download': ['{p} · {done} / {total}', '{p} · {done} / {total}'],
  'fw.bundles': ['已登记的固件包', 'Registered bundles'],
  'fw.none': ['还没有登记的固件包', 'No bundle registered yet'],
  'fw.versions': ['设备运行版本', 'Versions in the fleet'],
  'fw.versions_n': ['{n} 台', 'boxes: {n}'],

  'halt.title': ['停止发布 {version}？', 'Halt the rollout of {version}?'],
  'halt.explain': ['不再推送给新的门店。正在更新的设备会完成本次更新，失败时自动回滚。停止后不能继续，需要新建发布。', 'No more boxes will be offered it. Boxes updating now finish, and roll back by themselves if they fail. A halted rollout cannot resume: start a new one.'],
  'halt.ok': ['停止发布', 'Halt'],
  'halt.cancel': ['取消', 'Cancel'],
  'halt.done': ['已停止发布 {version}', 'Rollout of {version} halted'],
  'halt.failed': ['停止失败：{msg}', 'Could not halt: {msg}'],

  'conflict.none': ['没有待处理的冲突', 'Nothing to resolve'],
  'conflict.resolve': ['处理', 'Resolve'],
  'conflict.by': ['{who}取消', 'Cancelled by {who}'],
  'cancel_by.customer': ['顾客', 'customer'],
  'cancel_by.hq': ['总部', 'HQ'],
  'cancel_by.store': ['门店', 'store'],

  'resolve.title': ['处理冲突订单 {order}', 'Resolve order {order}'],
  'resolve.explain': ['{store} · {amount} · 顾客已取消，但订单已交付。请选择处理方式：', '{store} · {amount} · cancelled by the customer but handed off. Choose how to settle it:'],
  'resolve.refund': ['退款给顾客', 'Refund the customer'],
  'resolve.redeliver': ['重新配送', 'Deliver again'],
  'resolve.keep': ['不退款（顾客已收货）', 'No refund (the customer has it)'],
  'resolve.note': ['备注（可选）', 'Note (optional)'],
  'resolve.ok': ['确认处理', 'Resolve'],
  'resolve.cancel': ['取消', 'Cancel'],
  'resolve.done': ['订单 {order} 已处理：{resolution}', 'Order {order} resolved: {resolution}'],
  'resolve.failed': ['处理失败：{msg}', 'Could not resolve: {msg}'],

  'login.title': ['请输入 API 令牌', 'Enter an API token'],
  'login.explain': ['总部接口需要令牌（read 或 admin 权限）。令牌只保存在本浏览器。', 'The HQ API needs a token with the read or admin scope. It is kept in this browser only.'],
  'login.placeholder': ['令牌', 'Token'],
  'login.ok': ['登录', 'Sign in'],
  'login.wrong': ['令牌无效或权限不足', 'Unknown token or missing scope'],
  'login.logout': ['退出', 'Sign out'],

  'unit.s': ['{n} 秒', '{n} s'],
  'unit.b': ['{n} B', '{n} B'],
  'unit.kb': ['{n} KB', '{n} KB'],
  'unit.mb': ['{n} MB', '{n} MB'],
  'common.none': ['—', '—'],
  'common.more': ['另有 {n} 家门店未显示', 'Not shown: {n} more stores'],
};

export const missing = new Set();

let current = null;

export function getLang() {
  if (current) return current;
  let saved = null;
  try {
    saved = typeof localStorage === 'undefined' ? null : localStorage.getItem(LANG_KEY);
  } catch (e) {
    saved = null;
  }
  current = LANGS.includes(saved) ? saved : 'zh';
  return current;
}

export function setLang(lang) {
  if (!LANGS.includes(lang)) return;
  current = lang;
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch (e) {
    // private mode: the choice lasts for this page only
  }
}

export function t(key, params) {
  const row = TABLE[key];
  if (!row) {
    missing.add(key);
    return key;
  }
  const text = row[LANGS.indexOf(getLang())] || row[0];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (params[name] === undefined ? m : String(params[name])));
}
